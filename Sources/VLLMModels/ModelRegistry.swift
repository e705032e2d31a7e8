/// The architectures this engine runs (vLLM's `ModelRegistry`), found by the Hugging Face
/// `architectures` name or the GGUF `general.architecture`. An unknown one is refused at load
/// with its name and the supported list.
public enum ModelRegistry {
    public static let architectures: [ModelArchitecture] = [.llama, .mistral, .qwen2, .qwen3, .gemma2, .gemma3, .phi3, .mixtral, .qwen2Moe, .qwen3Moe, .gptOss]

    /// Multimodal checkpoints served as their language model alone (text in, text out; the
    /// vision tower is left unread): the `architectures` name → the text architecture, and the
    /// text config's defaults, since these files list only what differs from them.
    static var textOnlyCheckpoints: [String: (text: ModelArchitecture, textDefaults: [String: Any])] {
        ["Gemma3ForConditionalGeneration": (.gemma3, ModelArchitecture.gemma3TextDefaults)]
    }

    public static var supportedHFNames: [String] { architectures.map(\.name) + textOnlyCheckpoints.keys.sorted() }
    public static var supportedGGUFNames: [String] { architectures.compactMap(\.ggufName) }

    static func architecture(hfName: String, path: String) throws(ModelLoadError) -> ModelArchitecture {
        guard let a = architectures.first(where: { $0.name == hfName }) else {
            throw .unsupported(path: path, reason: "model architecture '\(hfName.clippedForMessage())' (supported: \(supportedHFNames.joined(separator: ", ")))")
        }
        return a
    }

    static func architecture(ggufName: String, path: String) throws(ModelLoadError) -> ModelArchitecture {
        guard let a = architectures.first(where: { $0.ggufName == ggufName }) else {
            throw .unsupported(path: path, reason: "model architecture '\(ggufName.clippedForMessage())' (supported: \(supportedGGUFNames.joined(separator: ", ")))")
        }
        return a
    }
}
