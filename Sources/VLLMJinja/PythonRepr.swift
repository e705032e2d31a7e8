/// Python's `str()` and `repr()` of template values: templates print lists and dicts
/// (`{'a': 1}`, `['x', True, None]`) and numbers, and must match CPython character for character.
extension Value {
    /// `str(value)`, which is what `{{ value }}` prints (`Undefined` prints nothing).
    public var pyStr: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return pyRepr
        }
    }

    /// `repr(value)`. A value nested past `Nesting.maxDepth` prints its deep part as `...`
    /// (templates cannot build one; this keeps values built in Swift from overflowing the stack).
    public var pyRepr: String {
        var w = ReprWriter(maxBytes: .max)
        do { try w.write(self, depth: 0) } catch { return w.out + "..." }
        return w.out
    }

    /// `repr(value)` cut to about `maxBytes`, for error messages that quote a value.
    func briefRepr(_ maxBytes: Int = 200) -> String {
        var w = ReprWriter(maxBytes: maxBytes)
        do { try w.write(self, depth: 0) } catch { return w.out + "..." }
        return w.out
    }

    /// The repr of a value that holds no other values.
    fileprivate var scalarRepr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .float(d): return PythonFloat.repr(d)
        case let .string(s): return PythonString.repr(s)
        case let .callable(c): return c.isMacro ? "<Macro '\(c.name)'>" : "<built-in function \(c.name)>"
        case let .object(o): return "<\(o.typeName) object>"
        case .list, .dict, .namespace: return ""
        }
    }
}

enum ReprFailure: Error { case tooLong, tooDeep }

/// Writes `repr(value)`, refusing to grow past `maxBytes` or to recurse past
/// `Nesting.maxDepth`: a list can hold the same large string a million times, so the size of a
/// repr is only known while writing it.
struct ReprWriter {
    let maxBytes: Int
    var out = ""
    /// Namespaces being written: a namespace can contain itself, and Python prints the inner
    /// occurrence's attributes as `{...}`.
    private var open: [ObjectIdentifier] = []

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    private mutating func append(_ s: String) throws(ReprFailure) {
        let (total, overflow) = out.utf8.count.addingReportingOverflow(s.utf8.count)
        if overflow || total > maxBytes { throw .tooLong }
        out += s
    }

    mutating func write(_ value: Value, depth: Int) throws(ReprFailure) {
        guard depth <= Nesting.maxDepth else { throw .tooDeep }
        switch value {
        case let .list(a):
            try append("[")
            for (i, v) in a.enumerated() {
                if i > 0 { try append(", ") }
                try write(v, depth: depth + 1)
            }
            try append("]")
        case let .dict(d):
            try append("{")
            for i in 0..<d.count {
                if i > 0 { try append(", ") }
                try write(d.keys[i], depth: depth + 1)
                try append(": ")
                try write(d.values[i], depth: depth + 1)
            }
            try append("}")
        case let .namespace(ns):
            let id = ObjectIdentifier(ns)
            if open.contains(id) { try append("<Namespace {...}>"); return }
            open.append(id)
            defer { open.removeLast() }
            try append("<Namespace ")
            try write(.dict(ns.attributes), depth: depth + 1)
            try append(">")
        case let .string(s):
            // Refuse before escaping: the repr is at least as long as the text.
            if s.utf8.count > maxBytes { throw .tooLong }
            try append(PythonString.repr(s))
        default:
            try append(value.scalarRepr)
        }
    }
}

enum PythonFloat {
    /// `repr(float)`: the shortest digits that round-trip, placed the way CPython's
    /// `float_repr_style = 'short'` places them (scientific below 1e-4 and from 1e16 up).
    static func repr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (digits, exponent) = shortestDigits(abs(d))
        let sign = d < 0 ? "-" : ""
        // Value = 0.DIGITS × 10^decpt.
        let decpt = exponent + 1
        if decpt > -4 && decpt <= 16 {
            if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + digits }
            if decpt >= digits.count { return sign + digits + String(repeating: "0", count: decpt - digits.count) + ".0" }
            let i = digits.index(digits.startIndex, offsetBy: decpt)
            return sign + digits[..<i] + "." + digits[i...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        let e = decpt - 1
        return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
    }

    /// Swift's `description` already produces shortest round-trip digits; take them apart into a
    /// digit string without leading/trailing zeros and the exponent of its first digit.
    static func shortestDigits(_ d: Double) -> (String, Int) {
        let text = d.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var intPart = Substring(mantissa)
        var frac: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            frac = mantissa[mantissa.index(after: dot)...]
        }
        var all = String(intPart) + frac
        var firstExp = exponent + intPart.count - 1
        while all.hasPrefix("0") && all.count > 1 { all.removeFirst(); firstExp -= 1 }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (all, firstExp)
    }
}

enum PythonString {
    /// `repr(str)`: single quotes unless the text has `'` and no `"`; non-printable characters
    /// escaped as `\n`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`.
    static func repr(_ s: String) -> String {
        let hasSingle = s.unicodeScalars.contains("'"), hasDouble = s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for u in s.unicodeScalars {
            switch u {
            case quote, "\\": out.append("\\"); out.append(u)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default:
                if isPrintable(u) { out.append(u); continue }
                let hex = String(u.value, radix: 16)
                let (prefix, width) = u.value < 0x100 ? ("\\x", 2) : u.value < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                out.append(contentsOf: (prefix + String(repeating: "0", count: width - hex.count) + hex).unicodeScalars)
            }
        }
        out.append(quote)
        return String(out)
    }

    /// `str.isprintable()` for one character: everything but control, format, surrogate,
    /// private-use, unassigned and separator characters (the ASCII space excepted).
    static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return true }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .spaceSeparator, .lineSeparator, .paragraphSeparator: return false
        default: return true
        }
    }
}
