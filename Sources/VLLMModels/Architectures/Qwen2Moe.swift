extension ModelArchitecture {
    /// Qwen2-MoE / Qwen1.5-MoE: Qwen2's attention (Q/K/V biases) with a mixture of experts for
    /// every MLP (`norm_topk_prob`, off by default: the chosen experts keep their softmax
    /// probabilities) plus a shared expert every token runs, scaled by a sigmoid gate. llama.cpp
    /// does not renormalize for `qwen2moe` files either.
    static let qwen2Moe = ModelArchitecture(name: "Qwen2MoeForCausalLM", ggufName: "qwen2moe", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        c.attentionBias = true
        try c.readSlidingWindow(j, enabledKey: "use_sliding_window")
        c.moe = try MoEConfig.hf(j, renormalizeByDefault: false)
        try ModelConfig.refuseDenseLayers(j)
    } configureGGUF: { c, _ in
        c.moe?.routing.renormalize = false
    }
}
