/// `llama3_json` (alias `llama4_json`): Llama 3.1+ JSON calls. The output *is* the call —
/// optionally after `<|python_tag|>` — one object or several joined by `;`:
///
///     {"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "f", "parameters": {}}
///
/// Llama writes `parameters` where other formats write `arguments`; both are accepted. An
/// output that does not start (after whitespace) with `{` or the tag is plain text, as in
/// vLLM's streaming parser; vLLM's non-streaming parser also finds JSON later in the text, which
/// cannot be streamed without holding back all text, so this parser does not.
extension ToolParser {
    public static let llama3JSON = ToolParser(name: "llama3_json") { Llama3JSONMachine() }
}

struct Llama3JSONMachine: ToolCallMachine {
    private enum Mode { case start, call, between(sawSemicolon: Bool), plain, dropRest }
    private static let tag = "<|python_tag|>"

    private var mode = Mode.start
    /// Leading whitespace and a possible beginning of the tag, not yet known to be text.
    private var held = ""
    private var call = PendingCall(Llama3JSONMachine.scanner(), raw: "")

    private static func scanner() -> CallObjectScanner { CallObjectScanner(argumentKeys: ["arguments", "parameters"]) }
    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        switch mode {
        case .start:
            let lead = String(held.unicodeScalars.drop(while: Llama3JSONMachine.isSpace))
            if lead.isEmpty && Llama3JSONMachine.isSpace(c) {
                held.unicodeScalars.append(c)
            } else if lead.isEmpty && c == "{" {
                beginCall(raw: held)
                feed(c, &ledger)
            } else if Llama3JSONMachine.tag.unicodeScalars.starts(with: (lead + String(c)).unicodeScalars) {
                held.unicodeScalars.append(c)
                if lead.unicodeScalars.count + 1 == Llama3JSONMachine.tag.unicodeScalars.count { beginCall(raw: held) }
            } else {
                ledger.addText(held)
                ledger.addText(c)
                mode = .plain
            }
        case .call:
            guard case let .ended(wasCall, consumed) = call.feed(c, &ledger) else { return }
            mode = wasCall ? .between(sawSemicolon: false) : .plain
            if !consumed { feed(c, &ledger) }
        case let .between(sawSemicolon):
            if Llama3JSONMachine.isSpace(c) { return }
            if c == ";" && !sawSemicolon {
                mode = .between(sawSemicolon: true)
            } else if c == "{" && sawSemicolon {
                beginCall(raw: "")
                feed(c, &ledger)
            } else {
                mode = .dropRest
            }
        case .plain:
            ledger.addText(c)
        case .dropRest:
            break
        }
    }

    private mutating func beginCall(raw: String) {
        call = PendingCall(Llama3JSONMachine.scanner(), raw: raw)
        held = ""
        mode = .call
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch mode {
        case .start: ledger.addText(held)
        case .call: _ = call.end(&ledger)
        default: break
        }
    }
}
