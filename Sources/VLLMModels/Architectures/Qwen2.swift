extension ModelArchitecture {
    /// Qwen2 / Qwen2.5: Llama plus biases on Q, K and V; NeoX rope in both forms; a sliding
    /// window only with `use_sliding_window` (on the layers from `max_window_layers` on).
    static let qwen2 = ModelArchitecture(name: "Qwen2ForCausalLM", ggufName: "qwen2", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        c.attentionBias = true
        try c.readSlidingWindow(j, enabledKey: "use_sliding_window")
    }
}
