/// Why a model file could not be used. Every message names the file and the problem.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open model file \(path): \(reason)"
        case let .corrupt(path, reason): "corrupt or truncated \(Self.format(path)) file \(path): \(reason)"
        case let .unsupported(path, reason): "unsupported model file \(path): \(reason)"
        }
    }

    /// The file format named in messages, from the file's extension (GGUF unless it says otherwise).
    static func format(_ path: String) -> String {
        path.hasSuffix(".safetensors") ? "safetensors" : path.hasSuffix(".json") ? "JSON" : "GGUF"
    }
}

extension String {
    /// This text as quoted in an error message: at most `limit` characters, so a corrupt file's
    /// megabyte-long name or value cannot flood a log.
    func clippedForMessage(_ limit: Int = 80) -> String {
        count <= limit ? self : prefix(limit) + "… (\(utf8.count) bytes)"
    }
}
