extension ModelArchitecture {
    /// Mistral: Llama plus a sliding attention window (`sliding_window`, null in later
    /// versions). The converter writes Mistral GGUFs as "llama"; their window is honoured when the
    /// file carries `llama.attention.sliding_window`.
    static let mistral = ModelArchitecture(name: "MistralForCausalLM", ggufName: nil, ggufRopeStyle: .adjacentPairs) { c, j throws(ModelLoadError) in
        try c.readSlidingWindow(j)
    }
}
