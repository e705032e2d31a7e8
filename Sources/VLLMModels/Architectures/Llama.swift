extension ModelArchitecture {
    /// Llama 2 / 3 / 3.x (llama3 rope scaling), SmolLM and other Llama-shaped models. GGUF
    /// "llama" files have their Q/K rows permuted to adjacent pairs by the converter.
    static let llama = ModelArchitecture(name: "LlamaForCausalLM", ggufName: "llama", ggufRopeStyle: .adjacentPairs) { _, _ in }
}
