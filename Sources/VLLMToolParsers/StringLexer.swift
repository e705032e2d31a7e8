/// Decodes a quoted string one character at a time (JSON rules, or Python literal rules for
/// the `pythonic` format) and re-encodes it as `json.dumps(..., ensure_ascii=False)` writes
/// strings. Partial escapes are held until complete so every piece of output is final.
struct StringLexer {
    enum Output { case text(String), closed(String), invalid }

    private(set) var quote: Unicode.Scalar = "\""
    /// The characters after a backslash, while an escape is incomplete.
    private var escape: [Unicode.Scalar]?
    /// A decoded high surrogate waiting for its low half. Swift strings cannot hold a lone
    /// surrogate (Python's can), so an unpaired one becomes U+FFFD.
    private var highSurrogate: UInt32?

    init(quote: Unicode.Scalar = "\"") { self.quote = quote }

    mutating func feed(_ c: Unicode.Scalar, dialect: CanonicalValue.Dialect) -> Output {
        if escape != nil { return continueEscape(c, dialect: dialect) }
        if c == quote { return .closed(takeSurrogate()) }
        if c == "\\" { escape = []; return .text("") }
        // A raw newline ends a Python string literal. JSON forbids raw control characters too,
        // but models do write them inside long string arguments (code, prose); they are read
        // as json.loads(strict=False) would and written escaped.
        if dialect == .python && (c == "\n" || c == "\r") { return .invalid }
        return .text(takeSurrogate() + StringLexer.encode(c))
    }

    private mutating func takeSurrogate() -> String {
        guard highSurrogate != nil else { return "" }
        highSurrogate = nil
        return "\u{FFFD}"
    }

    private mutating func emit(codeUnitOrScalar v: UInt32) -> Output {
        escape = nil
        if (0xD800..<0xDC00).contains(v) {
            let lone = takeSurrogate()
            highSurrogate = v
            return .text(lone)
        }
        if (0xDC00..<0xE000).contains(v) {
            guard let high = highSurrogate else { return .text("\u{FFFD}") }
            highSurrogate = nil
            let combined = 0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00)
            return .text(StringLexer.encode(Unicode.Scalar(combined) ?? "\u{FFFD}"))
        }
        guard let scalar = Unicode.Scalar(v) else { return .invalid }
        return .text(takeSurrogate() + StringLexer.encode(scalar))
    }

    private mutating func continueEscape(_ c: Unicode.Scalar, dialect: CanonicalValue.Dialect) -> Output {
        var e = escape ?? []
        if let first = e.first, "01234567".unicodeScalars.contains(first), dialect == .python {
            // Octal escapes take up to three digits; any other character ends the escape and
            // is then read on its own.
            if "01234567".unicodeScalars.contains(c) && e.count < 3 {
                e.append(c)
                escape = e
                if e.count < 3 { return .text("") }
                return emit(codeUnitOrScalar: UInt32(String(String.UnicodeScalarView(e)), radix: 8) ?? 0)
            }
            let head = emit(codeUnitOrScalar: UInt32(String(String.UnicodeScalarView(e)), radix: 8) ?? 0)
            let tail = feed(c, dialect: dialect)
            switch (head, tail) {
            case let (.text(a), .text(b)): return .text(a + b)
            case let (.text(a), .closed(b)): return .closed(a + b)
            default: return .invalid
            }
        }
        e.append(c)
        escape = e
        let kind = e[0]
        let hexCount: Int? = switch kind {
        case "u": 4
        case "x" where dialect == .python: 2
        case "U" where dialect == .python: 8
        default: nil
        }
        if let hexCount {
            if e.count < hexCount + 1 { return .text("") }
            let digits = String(String.UnicodeScalarView(e.dropFirst()))
            guard digits.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }), let v = UInt32(digits, radix: 16) else {
                return .invalid
            }
            return emit(codeUnitOrScalar: v)
        }
        let simple: [Unicode.Scalar: UInt32] = ["\"": 0x22, "\\": 0x5C, "b": 0x08, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09]
        if let v = simple[kind] { return emit(codeUnitOrScalar: v) }
        if dialect == .json {
            return kind == "/" ? emit(codeUnitOrScalar: 0x2F) : .invalid
        }
        let python: [Unicode.Scalar: UInt32] = ["'": 0x27, "a": 0x07, "v": 0x0B]
        if let v = python[kind] { return emit(codeUnitOrScalar: v) }
        if "01234567".unicodeScalars.contains(kind) { return .text("") }
        escape = nil
        if kind == "\n" { return .text(takeSurrogate()) }  // line continuation
        if kind == "N" || kind == "\r" { return .invalid }  // `\N{NAME}` is not supported
        // Python keeps the backslash of an unknown escape.
        return .text(takeSurrogate() + "\\\\" + StringLexer.encode(kind))
    }

    /// One character as `json.dumps(ensure_ascii=False)` writes it inside a string.
    static func encode(_ u: Unicode.Scalar) -> String {
        switch u {
        case "\"": return "\\\""
        case "\\": return "\\\\"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{08}": return "\\b"
        case "\u{0C}": return "\\f"
        default:
            guard u.value < 0x20 else { return String(u) }
            let h = String(u.value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - h.count) + h
        }
    }
}
