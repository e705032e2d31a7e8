/// Why a tokenizer could not be built from a model's metadata or tokenizer files.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required metadata key is absent.
    case missingMetadata(key: String)
    /// A metadata key is present but its value has the wrong type or is out of range.
    case invalidMetadata(key: String, reason: String)
    /// `tokenizer.ggml.model` names a tokenizer this engine does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this engine does not implement.
    case unsupportedPreTokenizer(String)
    /// A tokenizer file is missing, unreadable or larger than the cap.
    case unreadableFile(path: String, reason: String)
    /// A tokenizer file (`tokenizer.json`, `tokenizer_config.json`, …) is malformed: bad JSON, a
    /// wrong type, an id out of range, a merge naming an unknown token. `at` is a JSON path
    /// such as `model.merges[12]`, or a byte offset for JSON syntax errors.
    case invalidFile(file: String, at: String, reason: String)
    /// A tokenizer file is well formed but asks for something this engine does not implement
    /// (a Unigram model, a normalizer type, a regex Swift cannot run the way Oniguruma does).
    case unsupportedFeature(file: String, at: String, reason: String)

    public var description: String {
        switch self {
        case let .missingMetadata(key):
            "tokenizer metadata is missing \(key)"
        case let .invalidMetadata(key, reason):
            "tokenizer metadata \(key) is invalid: \(reason)"
        case let .unsupportedModel(name):
            "unsupported tokenizer model '\(name)' (supported: gpt2 (byte-level BPE), llama (SentencePiece))"
        case let .unsupportedPreTokenizer(name):
            "unsupported BPE pre-tokenizer '\(name)' (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case let .unreadableFile(path, reason):
            "cannot read \(path): \(reason)"
        case let .invalidFile(file, at, reason):
            "\(file) is invalid at \(at): \(reason)"
        case let .unsupportedFeature(file, at, reason):
            "\(file) at \(at) is not supported: \(reason)"
        }
    }
}
