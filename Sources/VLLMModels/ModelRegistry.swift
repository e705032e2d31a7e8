/// The architectures this engine runs (vLLM's `ModelRegistry`), found by the Hugging Face
/// `architectures` name or the GGUF `general.architecture`. An unknown one is refused at load
/// with its name and the supported list.
public enum ModelRegistry {
    public static let architectures: [ModelArchitecture] = [.llama, .mistral, .qwen2, .qwen3, .gemma2, .gemma3, .phi3]

    public static var supportedHFNames: [String] { architectures.map(\.name) }
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
