import VLLMJinja

/// Numbers and bare literals as `json.dumps` writes them after `json.loads` (or Python's
/// parser) read them: integers keep all their digits (Python integers are unbounded), floats
/// are written with `repr(float)`, and the literals map to `true`/`false`/`null`.
enum NumberText {
    /// The canonical text of a complete token, or nil when the token is not a valid number or
    /// literal in `dialect`.
    static func canonical(_ token: String, dialect: CanonicalValue.Dialect) -> String? {
        switch (dialect, token) {
        case (.json, "true"), (.python, "True"): return "true"
        case (.json, "false"), (.python, "False"): return "false"
        case (.json, "null"), (.python, "None"): return "null"
        case (.json, "NaN"): return "NaN"
        case (.json, "Infinity"): return "Infinity"
        case (.json, "-Infinity"): return "-Infinity"
        default: break
        }
        guard let number = dialect == .json ? jsonNumber(token) : pythonNumber(token) else { return nil }
        if !number.isFloat {
            // `-0` reads as the integer 0; otherwise the digits stand as written.
            let digits = number.digits.drop { $0 == "0" }
            if digits.isEmpty { return "0" }
            return (number.negative ? "-" : "") + digits
        }
        guard let d = Double(number.text) else { return nil }
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return Value.float(d).pyRepr
    }

    private struct Parsed {
        var negative: Bool
        var digits: Substring  // the integer digits
        var isFloat: Bool
        var text: String       // a form Swift's Double(_:) reads
    }

    /// JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private static func jsonNumber(_ t: String) -> Parsed? {
        let s = Array(t.utf8)
        var i = 0
        let negative = s.first == UInt8(ascii: "-")
        if negative { i += 1 }
        let start = i
        while i < s.count, isDigit(s[i]) { i += 1 }
        let intDigits = i - start
        guard intDigits > 0, !(intDigits > 1 && s[start] == UInt8(ascii: "0")) else { return nil }
        var isFloat = false
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            let f = i
            while i < s.count, isDigit(s[i]) { i += 1 }
            guard i > f else { return nil }
            isFloat = true
        }
        if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
            i += 1
            if i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            while i < s.count, isDigit(s[i]) { i += 1 }
            guard i > e else { return nil }
            isFloat = true
        }
        guard i == s.count else { return nil }
        let digits = Substring(String(decoding: s[start..<start + intDigits], as: UTF8.self))
        return Parsed(negative: negative, digits: digits, isFloat: isFloat, text: t)
    }

    /// Python's decimal literals (with `_` digit separators, `1.`, `.5`), plus a leading minus:
    /// Python reads `-1` as an operator applied to a literal, and the parser accepts it too.
    private static func pythonNumber(_ t: String) -> Parsed? {
        var body = Substring(t)
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        // Underscores must sit between digits.
        let chars = Array(body)
        for (k, ch) in chars.enumerated() where ch == "_" {
            guard k > 0, k + 1 < chars.count, chars[k - 1].isNumber, chars[k + 1].isNumber else { return nil }
        }
        let plain = body.replacingAll("_", with: "")
        let mantissaEnd = plain.firstIndex { $0 == "e" || $0 == "E" } ?? plain.endIndex
        let mantissa = plain[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ $0.allSatisfy { ("0"..."9").contains($0) } }), mantissa.contains(where: { ("0"..."9").contains($0) }) else {
            return nil
        }
        let isFloat = parts.count == 2 || mantissaEnd != plain.endIndex
        if mantissaEnd != plain.endIndex {
            var exponent = plain[plain.index(after: mantissaEnd)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard !exponent.isEmpty, exponent.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        }
        // Python rejects leading zeros on a non-zero integer (`007`).
        if !isFloat, parts[0].count > 1, parts[0].first == "0", parts[0].contains(where: { $0 != "0" }) { return nil }
        var text = (negative ? "-" : "") + plain
        if text.hasSuffix(".") { text += "0" }
        text = text.replacingAll("-.", with: "-0.")
        if text.hasPrefix(".") { text = "0" + text }
        return Parsed(negative: negative, digits: parts[0], isFloat: isFloat, text: text)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}

extension StringProtocol {
    /// `replacing(_:with:)` without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
