extension ModelArchitecture {
    /// Mixtral: Mistral's decoder with a mixture of experts for every MLP (top-k of
    /// `num_local_experts`, the chosen experts' weights renormalized). llama.cpp's converter
    /// writes it as "llama" with `llama.expert_count`, which the GGUF reader turns into the same.
    static let mixtral = ModelArchitecture(name: "MixtralForCausalLM", ggufName: nil, ggufRopeStyle: .adjacentPairs) { c, j throws(ModelLoadError) in
        try c.readSlidingWindow(j)
        c.moe = try MoEConfig.hf(j, renormalizeByDefault: true)
    }
}
