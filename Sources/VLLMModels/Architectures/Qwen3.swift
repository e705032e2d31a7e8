extension ModelArchitecture {
    /// Qwen3 (dense): Llama plus a per-head RMSNorm on Q and K before the rotation, an explicit
    /// `head_dim`, and optional biases (`attention_bias`); NeoX rope in both forms.
    static let qwen3 = ModelArchitecture(name: "Qwen3ForCausalLM", ggufName: "qwen3", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        c.qkNorm = true
        try c.readSlidingWindow(j, enabledKey: "use_sliding_window")
    }
}
