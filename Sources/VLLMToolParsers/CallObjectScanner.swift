import VLLMJinja

/// Reads one tool call written as a JSON object, `{"name": "f", "arguments": {...}}`, as it is
/// generated: the name becomes known when its string closes, and the arguments value is
/// re-serialized (see `CanonicalValue`) while it streams. Other members are checked for
/// validity and ignored, as vLLM ignores them.
struct CallObjectScanner {
    enum Status { case more, done, failed }
    private enum Phase { case open, key(first: Bool), inKey, colon, value, afterMember, done, failed }
    private enum Role { case name, arguments, other }

    /// The member names that hold the arguments (Llama models also write `parameters`).
    let argumentKeys: Set<String>
    /// Whether `{"name": "f"}` alone is a call (vLLM's `mistral` parser defaults the arguments
    /// to `{}`; `hermes` and `llama3_json` reject it).
    let argumentsOptional: Bool
    private var phase = Phase.open
    private var key = CanonicalValue(.json)
    private var role = Role.other
    private var other = CanonicalValue(.json)
    private var arguments: CanonicalValue?
    /// The function name, once its string is complete.
    private(set) var name: String?

    init(argumentKeys: Set<String> = ["arguments"], argumentsOptional: Bool = false) {
        self.argumentKeys = argumentKeys
        self.argumentsOptional = argumentsOptional
    }

    /// Whether the arguments value has begun, so a call can be announced.
    var argumentsStarted: Bool { arguments?.started ?? false }
    /// The arguments text that is final so far.
    var argumentsText: String { arguments?.committed ?? "" }
    var isDone: Bool { if case .done = phase { return true }; return false }

    /// The arguments text completed where the output stopped or went wrong.
    mutating func finishArguments() -> String { arguments?.finishTruncated() ?? "" }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feedObject(_ c: Unicode.Scalar) -> Status {
        switch phase {
        case .done, .failed: return .failed
        case .open:
            if CallObjectScanner.isSpace(c) { return .more }
            guard c == "{" else { return fail() }
            phase = .key(first: true)
        case let .key(first):
            if CallObjectScanner.isSpace(c) { return .more }
            if first && c == "}" { phase = .done; return .done }
            guard c == "\"" else { return fail() }
            key = CanonicalValue(.json)
            _ = key.feed(c)
            phase = .inKey
        case .inKey:
            switch key.feed(c) {
            case .more: return .more
            case .done: return keyEnded()
            default: return fail()
            }
        case .colon:
            if CallObjectScanner.isSpace(c) { return .more }
            guard c == ":" else { return fail() }
            if role == .arguments { arguments = CanonicalValue(.json) } else { other = CanonicalValue(.json) }
            phase = .value
        case .value:
            let status = role == .arguments ? arguments!.feed(c) : other.feed(c)
            switch status {
            case .more: return .more
            case .failed: return fail()
            case .done: return memberEnded()
            case .doneUnconsumed:
                guard memberEnded() == .more else { return .failed }
                return feedObject(c)
            }
        case .afterMember:
            if CallObjectScanner.isSpace(c) { return .more }
            if c == "," { phase = .key(first: false); return .more }
            guard c == "}" else { return fail() }
            phase = .done
            return .done
        }
        return .more
    }

    private mutating func keyEnded() -> Status {
        guard case let .string(k)? = try? Value(json: key.committed) else { return fail() }
        role = k == "name" ? .name : argumentKeys.contains(k) ? .arguments : .other
        // A repeated name or arguments member would change what was already streamed.
        if role == .name && name != nil { return fail() }
        if role == .arguments && arguments != nil { return fail() }
        phase = .colon
        return .more
    }

    private mutating func memberEnded() -> Status {
        if role == .name {
            guard case let .string(n)? = try? Value(json: other.committed) else { return fail() }
            name = n
        }
        phase = .afterMember
        return .more
    }

    private mutating func fail() -> Status {
        phase = .failed
        return .failed
    }
}
