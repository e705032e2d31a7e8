/// Why a tokenizer could not be built from a model's metadata.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required metadata key is absent.
    case missingMetadata(key: String)
    /// A metadata key is present but its value has the wrong type or is out of range.
    case invalidMetadata(key: String, reason: String)
    /// `tokenizer.ggml.model` names a tokenizer this engine does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this engine does not implement.
    case unsupportedPreTokenizer(String)

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
        }
    }
}
