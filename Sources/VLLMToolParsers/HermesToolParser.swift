/// `hermes`: Hermes 2 Pro / Qwen 2.5 / Qwen 3 style calls, one JSON object per tag:
///
///     Some text<tool_call>
///     {"name": "get_weather", "arguments": {"city": "Paris"}}
///     </tool_call>
///
/// Text before the first call is content; text between and after calls is dropped, as
/// vLLM's non-streaming parser drops it. A tag whose JSON goes wrong before the call could be
/// announced is given back as text.
extension ToolParser {
    public static let hermes = ToolParser(name: "hermes") { HermesMachine() }
}

struct HermesMachine: ToolCallMachine {
    private enum Mode { case text, call, skipToEnd }

    private var mode = Mode.text
    private var start = MarkerMatcher("<tool_call>")
    private var end = MarkerMatcher("</tool_call>")
    private var call = PendingCall(CallObjectScanner(), raw: "")

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        switch mode {
        case .text:
            switch start.feed(c) {
            case let .text(s):
                ledger.addText(s)
            case let .matched(released):
                ledger.addText(released)
                call = PendingCall(CallObjectScanner(), raw: "<tool_call>")
                mode = .call
            }
        case .call:
            guard case let .ended(wasCall, consumed) = call.feed(c, &ledger) else { return }
            // After a call, skip to its closing tag; after a false start, read on as text.
            mode = wasCall ? .skipToEnd : .text
            end = MarkerMatcher("</tool_call>")
            if !consumed { feed(c, &ledger) }
        case .skipToEnd:
            if case .matched = end.feed(c) { mode = .text }
        }
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch mode {
        case .text: ledger.addText(start.flush())
        case .call: _ = call.end(&ledger)
        case .skipToEnd: break
        }
    }
}
