/// `mistral`: calls after the `[TOOL_CALLS]` special token, in either of Mistral's formats:
///
///     Text[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]   (tokenizer < v11)
///     Text[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]other{}             (v11 and later;
///                                                                             `[ARGS]` optional)
///
/// vLLM picks the format from the tokenizer version; here it is read from the text (a `[`
/// after the token means the array form). Ids are 9 alphanumerics, as Mistral requires. The
/// token is special, so the server must detokenize with special tokens kept
/// (`needsSpecialTokens`).
extension ToolParser {
    public static let mistral = ToolParser(name: "mistral", needsSpecialTokens: true, idStyle: .mistral) { MistralMachine() }
}

struct MistralMachine: ToolCallMachine {
    private enum Mode { case text, afterToken, array, named, afterNamed }
    private static let token = "[TOOL_CALLS]"

    private var mode = Mode.text
    private var marker = MarkerMatcher(MistralMachine.token)
    /// The token and what followed it, until a call starts: given back as text on a false start.
    private var raw = ""
    private var array = CallArrayReader(raw: "", argumentsOptional: true)
    private var named = PendingCall(MistralNamedCall(), raw: "")

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        switch mode {
        case .text, .afterNamed:
            // Text after a v11 call is dropped by the ledger; the next call has its own token.
            switch marker.feed(c) {
            case let .text(s):
                ledger.addText(s)
            case let .matched(released):
                ledger.addText(released)
                raw = MistralMachine.token
                mode = .afterToken
            }
        case .afterToken:
            raw.unicodeScalars.append(c)
            if MistralMachine.isSpace(c) { return }
            if c == "[" {
                // vLLM defaults missing arguments to {} in this form.
                array = CallArrayReader(raw: raw, argumentsOptional: true)
                mode = .array
            } else if MistralNamedCall.isNameCharacter(c) {
                raw.unicodeScalars.removeLast()
                named = PendingCall(MistralNamedCall(), raw: raw)
                mode = .named
                feed(c, &ledger)
            } else {
                ledger.addText(raw)
                mode = .text
            }
        case .array:
            guard case let .notCalls(consumed) = array.feed(c, &ledger) else { return }
            mode = .text
            if !consumed { feed(c, &ledger) }
        case .named:
            guard case let .ended(wasCall, consumed) = named.feed(c, &ledger) else { return }
            mode = wasCall ? .afterNamed : .text
            if !consumed { feed(c, &ledger) }
        }
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch mode {
        case .text, .afterNamed: ledger.addText(marker.flush())
        case .afterToken: ledger.addText(raw)
        case .array: array.finish(&ledger)
        case .named: _ = named.end(&ledger)
        }
    }
}

/// One call in the v11 form, `name{...}` or `name[ARGS]{...}`.
struct MistralNamedCall: CallSource {
    private enum Phase { case name, argsTag(matched: Int), arguments }
    private static let argsTag = Array("[ARGS]".unicodeScalars)

    private var phase = Phase.name
    private var nameText = ""
    private var arguments = CanonicalValue(.json)

    static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "."
    }

    var name: String? { if case .arguments = phase { return nameText }; return nil }
    var argumentsStarted: Bool { arguments.started }
    var argumentsText: String { arguments.committed }
    var argumentsOptional: Bool { false }
    mutating func finishArguments() -> String { arguments.finishTruncated() }

    mutating func feed(_ c: Unicode.Scalar) -> CallSourceStatus {
        switch phase {
        case .name:
            if MistralNamedCall.isNameCharacter(c) { nameText.unicodeScalars.append(c); return .more }
            if c == "[" && !nameText.isEmpty { phase = .argsTag(matched: 1); return .more }
            guard c == "{" && !nameText.isEmpty else { return .failed }
            phase = .arguments
            return feedArguments(c)
        case let .argsTag(matched):
            if matched == MistralNamedCall.argsTag.count {
                guard c == "{" else { return .failed }
                phase = .arguments
                return feedArguments(c)
            }
            guard c == MistralNamedCall.argsTag[matched] else { return .failed }
            phase = .argsTag(matched: matched + 1)
            return .more
        case .arguments:
            return feedArguments(c)
        }
    }

    private mutating func feedArguments(_ c: Unicode.Scalar) -> CallSourceStatus {
        switch arguments.feed(c) {
        case .more: return .more
        case .done: return .done
        case .doneUnconsumed: return .doneUnconsumed
        case .failed: return .failed
        }
    }
}
