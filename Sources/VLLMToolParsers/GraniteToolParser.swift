/// `granite`: IBM Granite 3.x. The output is a JSON array of calls, optionally after the
/// `<|tool_call|>` token (3.0) and/or the `<tool_call>` string (3.1):
///
///     <|tool_call|>[{"name": "get_weather", "arguments": {"city": "Boston"}}]
///
/// As in vLLM, anything else at the start (after whitespace) makes the output plain text,
/// and a call needs both `name` and `arguments`.
extension ToolParser {
    public static let granite = ToolParser(name: "granite") { GraniteMachine() }
}

struct GraniteMachine: ToolCallMachine {
    private enum Mode { case start, array, plain }
    private static let token = "<|tool_call|>", string = "<tool_call>"

    private var mode = Mode.start
    /// Leading whitespace and prefix tags, not yet known to introduce calls.
    private var held = ""
    /// A tag being matched, and which tags have been seen (the token may precede the string).
    private var partialTag = ""
    private var sawToken = false, sawString = false
    private var array = CallArrayReader(raw: "", argumentsOptional: false)

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        switch mode {
        case .start:
            held.unicodeScalars.append(c)
            if partialTag.isEmpty && GraniteMachine.isSpace(c) { return }
            if partialTag.isEmpty && c == "[" {
                array = CallArrayReader(raw: held, argumentsOptional: false)
                mode = .array
                return
            }
            partialTag.unicodeScalars.append(c)
            var candidates: [String] = []
            if !sawToken && !sawString { candidates.append(GraniteMachine.token) }
            if !sawString { candidates.append(GraniteMachine.string) }
            if partialTag == GraniteMachine.token && candidates.contains(partialTag) {
                (sawToken, partialTag) = (true, "")
            } else if partialTag == GraniteMachine.string && candidates.contains(partialTag) {
                (sawString, partialTag) = (true, "")
            } else if !candidates.contains(where: { $0.hasPrefix(partialTag) }) {
                ledger.addText(held)
                mode = .plain
            }
        case .array:
            guard case let .notCalls(consumed) = array.feed(c, &ledger) else { return }
            mode = .plain
            if !consumed { feed(c, &ledger) }
        case .plain:
            ledger.addText(c)
        }
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch mode {
        case .start: ledger.addText(held)
        case .array: array.finish(&ledger)
        case .plain: break
        }
    }
}
