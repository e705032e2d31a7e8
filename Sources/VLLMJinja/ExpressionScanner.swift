/// Scans one token inside a tag: a name, string, number or operator.
enum ExpressionScanner {
    private static let twoCharOps: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
    private static let oneCharOps: Set<Unicode.Scalar> = ["+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
                                                          "<", ">", "=", ".", ":", "|", ",", ";"]

    static func scan(_ src: Scalars, _ pos: inout Int, line: Int) throws(TemplateError) -> Token.Kind {
        let c = src[pos]
        if c == "'" || c == "\"" { return .string(try string(src, &pos, line: line)) }
        if ("0"..."9").contains(c) { return try number(src, &pos, line: line) }
        if c == "_" || c.properties.isXIDStart {
            let start = pos
            pos += 1
            while pos < src.count && (src[pos] == "_" || src[pos].properties.isXIDContinue) { pos += 1 }
            return .name(String(src[start..<pos]))
        }
        if pos + 1 < src.count {
            let two = String(src[pos...pos + 1])
            if twoCharOps.contains(two) { pos += 2; return .op(two) }
        }
        if oneCharOps.contains(c) { pos += 1; return .op(String(c)) }
        throw .syntax("unexpected char \(PythonString.repr(String(c))) at \(pos)", line)
    }

    /// A quoted literal with Python's `unicode-escape` escapes, as jinja2 decodes them.
    private static func string(_ src: Scalars, _ pos: inout Int, line: Int) throws(TemplateError) -> String {
        let quote = src[pos]
        var i = pos + 1
        var out = String.UnicodeScalarView()
        while i < src.count && src[i] != quote {
            guard src[i] == "\\", i + 1 < src.count else { out.append(src[i]); i += 1; continue }
            let e = src[i + 1]
            i += 2
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 48, n = 1
                while n < 3 && i < src.count && ("0"..."7").contains(src[i]) { v = v * 8 + src[i].value - 48; i += 1; n += 1 }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard i + width <= src.count, let v = UInt32(String(src[i..<i + width]), radix: 16),
                      let u = Unicode.Scalar(v) else {
                    throw .syntax("invalid \\\(e) escape in string literal", line)
                }
                out.append(u)
                i += width
            default:
                out.append("\\")
                out.append(e)
            }
        }
        guard i < src.count else { throw .syntax("unexpected char \(PythonString.repr(String(quote))) at \(pos)", line) }
        pos = i + 1
        return String(out)
    }

    private static func digits(_ src: Scalars, _ i: inout Int, allowed: (Unicode.Scalar) -> Bool) -> String {
        var s = ""
        while i < src.count && (allowed(src[i]) || src[i] == "_" && i + 1 < src.count && allowed(src[i + 1])) {
            if src[i] != "_" { s.unicodeScalars.append(src[i]) }
            i += 1
        }
        return s
    }

    private static func number(_ src: Scalars, _ pos: inout Int, line: Int) throws(TemplateError) -> Token.Kind {
        let isDigit: (Unicode.Scalar) -> Bool = { ("0"..."9").contains($0) }
        var i = pos
        if src[i] == "0", i + 1 < src.count {
            let base: Int? = switch src[i + 1] { case "x", "X": 16; case "o", "O": 8; case "b", "B": 2; default: nil }
            if let base {
                i += 2
                let text = digits(src, &i) { ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) }
                guard let v = Int(text, radix: base) else { throw .syntax("invalid integer literal", line) }
                pos = i
                return .integer(v)
            }
        }
        var text = digits(src, &i, allowed: isDigit)
        var isFloat = false
        // `1.` and `x.0.1` are not floats: a dot needs digits after it, and not a dot before.
        let afterDot = pos > 0 && src[pos - 1] == "."
        if !afterDot, i + 1 < src.count, src[i] == ".", isDigit(src[i + 1]) {
            i += 1
            text += "." + digits(src, &i, allowed: isDigit)
            isFloat = true
        }
        if !afterDot, i < src.count, src[i] == "e" || src[i] == "E" {
            var j = i + 1
            var exp = "e"
            if j < src.count && (src[j] == "+" || src[j] == "-") { exp.unicodeScalars.append(src[j]); j += 1 }
            if j < src.count && isDigit(src[j]) {
                text += exp + digits(src, &j, allowed: isDigit)
                i = j
                isFloat = true
            }
        }
        pos = i
        if isFloat { return .float(Double(text) ?? .infinity) }
        guard let v = Int(text) else { throw .syntax("integer literal too large: \(text)", line) }
        return .integer(v)
    }
}
