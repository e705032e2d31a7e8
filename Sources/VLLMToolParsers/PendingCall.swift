/// How a `CallSource` took a character.
enum CallSourceStatus { case more, done, doneUnconsumed, failed }

/// Something that reads one tool call in a particular format and knows, as it goes, the
/// function name (once complete) and the final-so-far arguments text.
protocol CallSource {
    var name: String? { get }
    var argumentsStarted: Bool { get }
    var argumentsText: String { get }
    /// Whether a call that ends with a name but no arguments is still a call (with `{}`).
    var argumentsOptional: Bool { get }
    /// The arguments completed where the text stopped or went wrong ("" if none started).
    mutating func finishArguments() -> String
    mutating func feed(_ c: Unicode.Scalar) -> CallSourceStatus
}

/// One tool call being read, whose fate is open until its name and the start of its
/// arguments have been seen. Before that point, a format error makes the whole span plain text
/// again (the model wrote something that looked like a call but was not); after it, the call
/// has been announced to the client (an empty name never announces one) and cannot be taken back, so an error or the end of the
/// output closes it with its arguments completed as far as they went.
struct PendingCall<Source: CallSource> {
    enum Outcome { case more, ended(wasCall: Bool, consumed: Bool) }

    private(set) var source: Source
    /// The text of the span so far, given back as content if it turns out not to be a call.
    private var raw: String
    private var index: Int?

    init(_ source: Source, raw: String) {
        self.source = source
        self.raw = raw
    }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) -> Outcome {
        switch source.feed(c) {
        case .more:
            raw.unicodeScalars.append(c)
            sync(&ledger)
            return .more
        case .done:
            raw.unicodeScalars.append(c)
            completed(&ledger)
            return .ended(wasCall: end(&ledger), consumed: true)
        case .doneUnconsumed:
            completed(&ledger)
            return .ended(wasCall: end(&ledger), consumed: false)
        case .failed:
            return .ended(wasCall: end(&ledger), consumed: false)
        }
    }

    private mutating func sync(_ ledger: inout CallLedger) {
        if index == nil, let name = source.name, !name.isEmpty, source.argumentsStarted {
            index = ledger.open(name: name)
        }
        if let index { ledger.setArguments(index, to: source.argumentsText) }
    }

    private mutating func completed(_ ledger: inout CallLedger) {
        sync(&ledger)
        if index == nil, let name = source.name, !name.isEmpty, source.argumentsOptional { index = ledger.open(name: name) }
    }

    /// Closes the call, or gives its text back as content; returns whether it was a call.
    mutating func end(_ ledger: inout CallLedger) -> Bool {
        if let index {
            ledger.close(index, arguments: source.finishArguments())
            return true
        }
        ledger.addText(raw)
        return false
    }
}

extension CallObjectScanner: CallSource {
    mutating func feed(_ c: Unicode.Scalar) -> CallSourceStatus {
        switch feedObject(c) {
        case .more: return .more
        case .done: return .done
        case .failed: return .failed
        }
    }
}
