/// `pythonic`: a Python list of calls with keyword arguments, the whole output being the list
/// (Llama 3.2 / Llama 4 / ToolACE style):
///
///     [get_weather(city="Paris", units='metric'), get_time(zone=None)]
///
/// Argument values are Python literals (strings in either quote, numbers, `True`/`False`/
/// `None`, lists, dicts) and are sent as `json.dumps(..., ensure_ascii=False)` of the keyword
/// dict, as vLLM does. An output that does not start (after whitespace) with `[` followed by
/// a call is plain text.
extension ToolParser {
    public static let pythonic = ToolParser(name: "pythonic") { PythonicMachine() }
}

struct PythonicMachine: ToolCallMachine {
    private enum Mode { case start, expectCall(first: Bool), call, afterCall, end, plain }

    private var mode = Mode.start
    /// Leading whitespace and `[`, not yet known to open a list of calls.
    private var held = ""
    private var call = PendingCall(PythonicCall(), raw: "")

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        switch mode {
        case .start:
            held.unicodeScalars.append(c)
            if c == "[" {
                mode = .expectCall(first: true)
            } else if !PythonicMachine.isSpace(c) {
                ledger.addText(held)
                mode = .plain
            }
        case let .expectCall(first):
            if PythonicMachine.isSpace(c) {
                if first { held.unicodeScalars.append(c) }
            } else if c.properties.isXIDStart || c == "_" {
                call = PendingCall(PythonicCall(), raw: first ? held : "")
                held = ""
                mode = .call
                feed(c, &ledger)
            } else if first {
                ledger.addText(held)
                mode = .plain
                feed(c, &ledger)
            } else {
                // `]` after a trailing comma ends the list; anything else is dropped.
                mode = .end
            }
        case .call:
            guard case let .ended(wasCall, consumed) = call.feed(c, &ledger) else { return }
            mode = wasCall ? .afterCall : .plain
            if !consumed { feed(c, &ledger) }
        case .afterCall:
            if PythonicMachine.isSpace(c) { return }
            mode = c == "," ? .expectCall(first: false) : .end
        case .end:
            break
        case .plain:
            ledger.addText(c)
        }
    }

    mutating func finish(_ ledger: inout CallLedger) {
        switch mode {
        case .start, .expectCall: ledger.addText(held)
        case .call: _ = call.end(&ledger)
        default: break
        }
    }
}

/// One call, `name(key=value, ...)`. The keyword list is read by a Python-literal
/// `CanonicalValue` as if it were the dict `{"key": value, ...}`: `(` is fed as `{`, each
/// `key=` as `"key": `, and the closing `)` as `}`.
struct PythonicCall: CallSource {
    private enum Phase { case name, afterName, keyStart, key, afterKey, value }

    private var phase = Phase.name
    private var nameText = ""
    private var opened = false
    private var key = ""
    private var arguments = CanonicalValue(.python)

    var name: String? { opened ? nameText : nil }
    var argumentsStarted: Bool { opened }
    var argumentsText: String { arguments.committed }
    var argumentsOptional: Bool { false }
    mutating func finishArguments() -> String { opened ? arguments.finishTruncated() : "" }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
    private static func continuesName(_ c: Unicode.Scalar) -> Bool { c.properties.isXIDContinue }

    mutating func feed(_ c: Unicode.Scalar) -> CallSourceStatus {
        switch phase {
        case .name:
            if PythonicCall.continuesName(c) { nameText.unicodeScalars.append(c); return .more }
            if PythonicCall.isSpace(c) { phase = .afterName; return .more }
            return open(c)
        case .afterName:
            if PythonicCall.isSpace(c) { return .more }
            return open(c)
        case .keyStart:
            if PythonicCall.isSpace(c) { return .more }
            if c == ")" { return map(arguments.feed("}")) }
            // A positional argument has no name to put in the arguments dict.
            guard c.properties.isXIDStart || c == "_" else { return .failed }
            key = String(c)
            phase = .key
            return .more
        case .key:
            if PythonicCall.continuesName(c) { key.unicodeScalars.append(c); return .more }
            if PythonicCall.isSpace(c) { phase = .afterKey; return .more }
            return equals(c)
        case .afterKey:
            if PythonicCall.isSpace(c) { return .more }
            return equals(c)
        case .value:
            // Only a `)` that closes the call's own parenthesis stands for the dict's `}`.
            let mapped: Unicode.Scalar = c == ")" && arguments.depth == 1 && !arguments.isInString ? "}" : c
            let status = map(arguments.feed(mapped))
            if status == .more && arguments.expectsOuterKey { phase = .keyStart }
            return status
        }
    }

    private mutating func open(_ c: Unicode.Scalar) -> CallSourceStatus {
        guard c == "(" else { return .failed }
        opened = true
        _ = arguments.feed("{")
        phase = .keyStart
        return .more
    }

    private mutating func equals(_ c: Unicode.Scalar) -> CallSourceStatus {
        guard c == "=" else { return .failed }
        for k in ("\"" + key + "\":").unicodeScalars {
            guard arguments.feed(k) == .more else { return .failed }
        }
        phase = .value
        return .more
    }

    private func map(_ status: CanonicalValue.Status) -> CallSourceStatus {
        switch status {
        case .more: .more
        case .done: .done
        case .doneUnconsumed, .failed: .failed
        }
    }
}
