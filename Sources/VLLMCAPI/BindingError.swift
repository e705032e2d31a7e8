import ArgumentParser
import Foundation
import VLLM
import VLLMServer

/// A Swift error as the Python exception vLLM raises in its place: ValueError for bad
/// parameters and inputs, TypeError for an unknown keyword argument, OSError for a model that
/// cannot be found or read, KeyboardInterrupt for a cancelled call, RuntimeError otherwise.
struct BindingError: Error {
    let type: String
    let message: String

    init(type: String, message: String) {
        self.type = type
        self.message = message
    }

    init(_ error: any Error) {
        switch error {
        case let e as BindingError: self = e
        case is CancellationError: self.init(type: "KeyboardInterrupt", message: "generation cancelled")
        case let e as SamplingParamsError: self.init(type: "ValueError", message: e.description)
        case let e as InvalidRequest: self.init(type: "ValueError", message: Self.pythonNames(e.description))
        case let e as LoRALoadError: self.init(type: "ValueError", message: Self.pythonNames(e.description))
        case let e as OfflineChatError: self.init(type: "ValueError", message: e.message)
        case let e as EngineArgsError: self.init(type: "ValueError", message: Self.pythonNames(e.description))
        case let e as HubError: self.init(type: "OSError", message: e.description)
        case let e as ValidationError: self.init(type: "ValueError", message: Self.pythonNames(e.message))
        default:
            let text = "\(error)"
            self.init(type: text.contains("No such file") || text.contains("cannot open") || text.contains("not found") ? "OSError" : "RuntimeError",
                      message: text)
        }
    }

    /// Engine flags in a message become the keyword arguments Python callers wrote
    /// (`--max-model-len` → `max_model_len`).
    static func pythonNames(_ message: String) -> String {
        // Argument Parser's value placeholders (`--max-model-len <max-model-len>`) go first.
        let message = message.replacingOccurrences(of: #" <[a-z0-9-]+>"#, with: "", options: .regularExpression)
        var out = ""
        var rest = Substring(message)
        while let r = rest.range(of: "--") {
            out += rest[..<r.lowerBound]
            var name = rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if name.isEmpty { out += "--"; rest = rest[r.upperBound...]; continue }
            rest = rest[r.upperBound...].dropFirst(name.count)
            if name.hasSuffix("-") { name = name.dropLast(); rest = "-" + rest }
            out += name.replacingOccurrences(of: "-", with: "_")
        }
        return out + rest
    }
}
