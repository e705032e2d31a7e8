import Foundation

/// One `--lora-modules` entry: an adapter loaded at start under `name`. vLLM accepts
/// `name=path` or a JSON object `{"name": …, "path": …, "base_model_name": …}`.
public struct LoRAModule: Sendable, Equatable {
    public var name: String
    public var path: String
    public var baseModelName: String?

    public init(name: String, path: String, baseModelName: String? = nil) {
        self.name = name
        self.path = path
        self.baseModelName = baseModelName
    }

    /// Parses either form; the error says what was expected.
    public init(parsing s: String) throws(EngineArgsError) {
        let bad = EngineArgsError.invalid("--lora-modules expects name=path or {\"name\": ..., \"path\": ..., \"base_model_name\": ...}, got \(s)")
        if s.hasPrefix("{") {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any],
                  let name = obj["name"] as? String, let path = obj["path"] as? String, !name.isEmpty, !path.isEmpty else { throw bad }
            let extra = Set(obj.keys).subtracting(["name", "path", "base_model_name"])
            guard extra.isEmpty else { throw .invalid("--lora-modules: unknown field(s) \(extra.sorted().joined(separator: ", ")) in \(s)") }
            self.init(name: name, path: path, baseModelName: obj["base_model_name"] as? String)
        } else {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex, s.index(after: eq) != s.endIndex else { throw bad }
            self.init(name: String(s[..<eq]), path: String(s[s.index(after: eq)...]))
        }
    }

    /// Every `--lora-modules` value: vLLM's space-separated `name=path` and JSON forms, and the
    /// comma-joined `a=/p,b=/q` form. A value splits at commas only when every piece is a
    /// `name=path`, so a path that contains a comma still reads as one module.
    public static func parseList(_ values: [String]) throws(EngineArgsError) -> [LoRAModule] {
        var out: [LoRAModule] = []
        for value in values {
            let pieces = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let joined = !value.hasPrefix("{") && pieces.count > 1
                && pieces.allSatisfy { p in p.firstIndex(of: "=").map { $0 != p.startIndex } ?? false }
            for piece in joined ? pieces : [value] { out.append(try LoRAModule(parsing: piece)) }
        }
        return out
    }
}
