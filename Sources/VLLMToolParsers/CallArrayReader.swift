/// Reads a JSON array of call objects, `[{"name": ..., "arguments": ...}, ...]`, after its `[`
/// (the `mistral` array form and `granite`). Shared so both formats treat a false start, a
/// broken element and trailing text the same way.
struct CallArrayReader {
    enum Outcome {
        case more
        /// The array was not a list of calls: its text went back to the ledger as content.
        /// The caller reads on as text, starting with `c` unless it was consumed.
        case notCalls(consumed: Bool)
    }
    private enum Phase { case expectElement(first: Bool), element, afterElement, dropRest }

    let argumentsOptional: Bool
    let argumentKeys: Set<String>
    private var phase = Phase.expectElement(first: true)
    /// The text up to and including `[`, until the first call is announced.
    private var raw: String
    private var element: PendingCall<CallObjectScanner>

    init(raw: String, argumentsOptional: Bool, argumentKeys: Set<String> = ["arguments"]) {
        self.raw = raw
        self.argumentsOptional = argumentsOptional
        self.argumentKeys = argumentKeys
        element = PendingCall(CallObjectScanner(argumentKeys: argumentKeys, argumentsOptional: argumentsOptional), raw: "")
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) -> Outcome {
        switch phase {
        case let .expectElement(first):
            if CallArrayReader.isSpace(c) {
                raw.unicodeScalars.append(c)
            } else if c == "{" {
                element = PendingCall(CallObjectScanner(argumentKeys: argumentKeys, argumentsOptional: argumentsOptional),
                                      raw: first ? raw : "")
                phase = .element
                return feed(c, &ledger)
            } else if first {
                ledger.addText(raw)
                return .notCalls(consumed: false)
            } else {
                phase = .dropRest
            }
        case .element:
            guard case let .ended(wasCall, consumed) = element.feed(c, &ledger) else { return .more }
            guard wasCall else { return .notCalls(consumed: consumed) }
            phase = .afterElement
            if !consumed { return feed(c, &ledger) }
        case .afterElement:
            // After `,` comes the next call; `]` or anything else ends the list, and text
            // after the list is dropped.
            if !CallArrayReader.isSpace(c) { phase = c == "," ? .expectElement(first: false) : .dropRest }
        case .dropRest:
            break
        }
        return .more
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch phase {
        case .expectElement: ledger.addText(raw)
        case .element: _ = element.end(&ledger)
        case .afterElement, .dropRest: break
        }
    }
}
