extension ModelArchitecture {
    /// Qwen3-MoE: Qwen3's attention with a mixture of experts for every MLP (`num_experts` of
    /// `moe_intermediate_size`, `norm_topk_prob` choosing whether the chosen experts' weights are
    /// renormalized). Layers kept dense (`mlp_only_layers`, `decoder_sparse_step` > 1) are refused.
    static let qwen3Moe = ModelArchitecture(name: "Qwen3MoeForCausalLM", ggufName: "qwen3moe", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        c.qkNorm = true
        try c.readSlidingWindow(j, enabledKey: "use_sliding_window")
        c.moe = try MoEConfig.hf(j, renormalizeByDefault: false)
        try ModelConfig.refuseDenseLayers(j)
    }
}

extension ModelConfig {
    /// Qwen-MoE configs can keep some layers dense (`mlp_only_layers`, `decoder_sparse_step` > 1);
    /// every released model has none, and this engine runs experts in every layer.
    static func refuseDenseLayers(_ j: HFConfigJSON) throws(ModelLoadError) {
        let dense = (j.object["mlp_only_layers"] as? [Any])?.isEmpty == false
        if dense || (j.int("decoder_sparse_step") ?? 1) != 1 {
            throw .unsupported(path: j.path, reason: "dense layers among the expert layers (mlp_only_layers, decoder_sparse_step)")
        }
    }
}
