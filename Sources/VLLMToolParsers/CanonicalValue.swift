/// Re-serializes one JSON value (or one Python literal) while it is still being generated,
/// producing the text Python's `json.dumps(value, ensure_ascii=False)` would produce for the
/// finished value. vLLM sends tool arguments in that form, so the streamed fragments must be
/// pieces of it, not of whatever spacing the model chose.
///
/// `committed` only ever grows. Text whose final form depends on what comes next is held back:
/// a key and its `": "` wait for their value to start, `", "` waits for the next member, a
/// number or literal waits for its end. Because of that, `finishTruncated()` can always turn
/// the committed text into valid JSON by closing what is open, as vLLM's completion of a
/// half-generated call does.
struct CanonicalValue {
    enum Dialect { case json, python }
    enum Status { case more, done, doneUnconsumed, failed }

    private enum Container { case object, array }
    private enum State: Equatable {
        case value(allowClose: Bool)  // a value is due (or, after `[` or a Python trailing comma, the closer)
        case key(allowClose: Bool)    // a key string is due (or the closer)
        case colon
        case afterValue
        case string(isKey: Bool)
        case token
        case done
        case failed
    }

    let dialect: Dialect
    private(set) var committed = ""
    private var pending = ""
    private var stack: [Container] = []
    private var state = State.value(allowClose: false)
    private var token = ""
    private var lexer = StringLexer()
    /// A value string has been opened in `committed` and not closed (kept apart from `state`
    /// so a value that fails inside a string can still be closed).
    private var openString = false

    init(_ dialect: Dialect) { self.dialect = dialect }

    var isDone: Bool { state == .done }
    var isFailed: Bool { state == .failed }
    /// Whether any of the value has been seen (its first character).
    var started: Bool { !committed.isEmpty || state != .value(allowClose: false) || !stack.isEmpty }
    var depth: Int { stack.count }
    var isInString: Bool { if case .string = state { return true }; return false }
    /// True right after `{` or `,` in the outermost object, where a key is due.
    var expectsOuterKey: Bool { if case .key = state { return stack.count == 1 }; return false }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar) -> Status {
        switch state {
        case .done: return .doneUnconsumed
        case .failed: return .failed
        case let .string(isKey):
            switch lexer.feed(c, dialect: dialect) {
            case let .text(s):
                if isKey { pending += s } else { committed += s }
            case let .closed(s):
                if isKey {
                    pending += s + "\""
                    state = .colon
                } else {
                    committed += s + "\""
                    openString = false
                    return valueEnded()
                }
            case .invalid: return fail()
            }
            return .more
        case .token:
            if CanonicalValue.continuesToken(c) { token.unicodeScalars.append(c); return .more }
            guard let text = NumberText.canonical(token, dialect: dialect) else { return fail() }
            committed += pending + text
            pending = ""
            let status = valueEnded()
            if status == .done { return .doneUnconsumed }
            return feed(c)
        case let .value(allowClose):
            if CanonicalValue.isSpace(c) { return .more }
            if allowClose, let status = close(c) { return status }
            return startValue(c)
        case let .key(allowClose):
            if CanonicalValue.isSpace(c) { return .more }
            if allowClose, let status = close(c) { return status }
            guard c == "\"" || (dialect == .python && c == "'") else { return fail() }
            lexer = StringLexer(quote: c)
            pending += "\""
            state = .string(isKey: true)
            return .more
        case .colon:
            if CanonicalValue.isSpace(c) { return .more }
            guard c == ":" else { return fail() }
            pending += ": "
            state = .value(allowClose: false)
            return .more
        case .afterValue:
            if CanonicalValue.isSpace(c) { return .more }
            if c == "," {
                pending = ", "
                let trailingCommaOK = dialect == .python
                state = stack.last == .object ? .key(allowClose: trailingCommaOK) : .value(allowClose: trailingCommaOK)
                return .more
            }
            return close(c) ?? fail()
        }
    }

    /// Closes the innermost container if `c` is its closer; nil when it is not.
    private mutating func close(_ c: Unicode.Scalar) -> Status? {
        guard let top = stack.last, c == (top == .object ? "}" : "]") else { return nil }
        stack.removeLast()
        pending = ""
        committed.unicodeScalars.append(c)
        return valueEnded()
    }

    private mutating func startValue(_ c: Unicode.Scalar) -> Status {
        switch c {
        case "{", "[":
            committed += pending
            committed.unicodeScalars.append(c)
            pending = ""
            stack.append(c == "{" ? .object : .array)
            state = c == "{" ? .key(allowClose: true) : .value(allowClose: true)
        case "\"", "'":
            guard c == "\"" || dialect == .python else { return fail() }
            committed += pending + "\""
            pending = ""
            lexer = StringLexer(quote: c)
            state = .string(isKey: false)
            openString = true
        default:
            guard CanonicalValue.continuesToken(c) else { return fail() }
            token = String(c)
            state = .token
        }
        return .more
    }

    private mutating func valueEnded() -> Status {
        if stack.isEmpty { state = .done; return .done }
        state = .afterValue
        return .more
    }

    private mutating func fail() -> Status {
        state = .failed
        return .failed
    }

    private static func continuesToken(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "+" || c == "-" || c == "_"
    }

    /// Ends the value where the text ended: completes a number or literal that is already
    /// valid, drops a key or separator still waiting for its value, closes an open string and
    /// the open containers. Returns the final text ("" when nothing of the value was produced).
    mutating func finishTruncated() -> String {
        switch state {
        case .token:
            if let text = NumberText.canonical(token, dialect: dialect) { committed += pending + text }
        default: break
        }
        if openString { committed += "\"" }
        openString = false
        pending = ""
        for container in stack.reversed() { committed += container == .object ? "}" : "]" }
        stack = []
        state = .done
        return committed
    }
}
