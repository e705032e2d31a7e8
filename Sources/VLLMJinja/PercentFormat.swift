#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's printf-style `'%s: %d' % args` (and the `format` filter that uses it).
enum PercentFormat {
    static func format(_ format: String, _ args: Value, _ budget: Budget) throws(TemplateError) -> String {
        let f = format.scalars
        var positional: [Value] = [args]
        var mapping: Dict?
        switch args {
        case let .list(items): positional = items
        case let .dict(d): mapping = d
        default: break
        }
        var next = 0, out = "", i = 0
        func append(_ piece: String) throws(TemplateError) {
            try budget.checkString(out.utf8.count, plus: piece.utf8.count)
            try budget.chargeCopy(piece.utf8.count)
            out += piece
        }
        func take() throws(TemplateError) -> Value {
            guard next < positional.count else { throw .type("not enough arguments for format string") }
            defer { next += 1 }
            return positional[next]
        }
        while i < f.count {
            guard f[i] == "%" else {
                // Copy the literal run at once; pieces between conversions are checked below.
                let start = i
                while i < f.count && f[i] != "%" { i += 1 }
                try append(String(f[start..<i]))
                continue
            }
            i += 1
            guard i < f.count else { throw .value("incomplete format") }
            var spec = Spec()
            var arg: Value?
            if f[i] == "(" {
                guard let close = f.find([")"], from: i) else { throw .value("incomplete format key") }
                guard let mapping else { throw .type("format requires a mapping") }
                let key = String(f[(i + 1)..<close])
                guard let v = mapping[key] else { throw .runtime("KeyError: \(PythonString.repr(key))") }
                arg = v
                i = close + 1
            }
            while i < f.count, "-+ #0".unicodeScalars.contains(f[i]) { spec.flags.insert(f[i]); i += 1 }
            if i < f.count && f[i] == "*" { spec.width = try take().intValue; i += 1 } else { spec.width = try number(f, &i, "width") }
            if i < f.count && f[i] == "." {
                i += 1
                if i < f.count && f[i] == "*" { spec.precision = try take().intValue; i += 1 } else { spec.precision = try number(f, &i, "precision") ?? 0 }
            }
            // A width or precision is how many characters get built: refuse it before building.
            try budget.checkString(max(spec.width ?? 0, spec.precision ?? 0))
            while i < f.count, "hlL".unicodeScalars.contains(f[i]) { i += 1 }
            guard i < f.count else { throw .value("incomplete format") }
            let type = f[i]
            i += 1
            if type == "%" { try append("%"); continue }
            let value: Value
            if let arg { value = arg } else { value = try take() }
            try append(try render(value, type, spec, budget))
        }
        if mapping == nil && next < positional.count { throw .type("not all arguments converted during string formatting") }
        return out
    }

    struct Spec {
        var flags: Set<Unicode.Scalar> = []
        var width: Int?
        var precision: Int?
    }

    private static func number(_ f: Scalars, _ i: inout Int, _ what: String) throws(TemplateError) -> Int? {
        var n: Int?
        while i < f.count, let d = f[i].decimalDigit {
            let (times10, o1) = (n ?? 0).multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(d)
            if o1 || o2 { throw .value("\(what) too big") }
            n = sum
            i += 1
        }
        return n
    }

    private static func render(_ value: Value, _ type: Unicode.Scalar, _ spec: Spec, _ budget: Budget) throws(TemplateError) -> String {
        var body: String
        switch type {
        case "s": body = try budget.str(value); if let p = spec.precision { body = String(body.unicodeScalars.prefix(max(p, 0))) }
        case "r", "a": body = try budget.repr(value); if let p = spec.precision { body = String(body.unicodeScalars.prefix(max(p, 0))) }
        case "c":
            if case let .string(s) = value, s.pyCount == 1 { body = s }
            else if case let .int(c) = value, let u = Unicode.Scalar(UInt32(clamping: max(c, 0))) { body = String(u) }
            else { throw .type("%c requires int or char") }
        case "d", "i", "u", "x", "X", "o":
            guard let n = Operators.number(value) else { throw .type("%\(type) format: a real number is required, not \(value.typeName)") }
            let i: Int
            switch n {
            case let .int(v): i = v
            case let .float(d):
                guard d.isFinite, abs(d) < 9.2e18 else { throw .runtime("OverflowError: cannot convert float to integer") }
                i = Int(d)
            }
            let radix = type == "x" || type == "X" ? 16 : type == "o" ? 8 : 10
            var digits = String(i.magnitude, radix: radix, uppercase: type == "X")
            if let p = spec.precision, digits.count < p { digits = String(repeating: "0", count: p - digits.count) + digits }
            if spec.flags.contains("#") && radix != 10 { digits = (radix == 16 ? (type == "X" ? "0X" : "0x") : "0o") + digits }
            body = sign(i < 0, spec) + digits
        case "e", "E", "f", "F", "g", "G":
            guard let n = Operators.number(value) else { throw .type("must be real number, not \(value.typeName)") }
            let d = n.double
            body = cFormat(d, type, precision: spec.precision ?? 6, alternate: spec.flags.contains("#"))
            if d >= 0 || d.isNaN { body = sign(false, spec) + body }
        default:
            throw .value("unsupported format character '\(type)'")
        }
        guard let width = spec.width, body.pyCount < width else { return body }
        let pad = width - body.pyCount
        if spec.flags.contains("-") { return body + String(repeating: " ", count: pad) }
        if spec.flags.contains("0") && "dixXoeEfFgGu".unicodeScalars.contains(type) {
            var s = body.scalars
            var prefix: Scalars = []
            if let c = s.first, c == "-" || c == "+" || c == " " { prefix = [c]; s.removeFirst() }
            return String(prefix + Array(repeating: "0", count: pad) + s)
        }
        return String(repeating: " ", count: pad) + body
    }

    private static func sign(_ negative: Bool, _ spec: Spec) -> String {
        negative ? "-" : spec.flags.contains("+") ? "+" : spec.flags.contains(" ") ? " " : ""
    }

    /// C's printf for one float conversion, which Python's formatting matches for e/f/g.
    static func cFormat(_ d: Double, _ type: Unicode.Scalar, precision: Int, alternate: Bool = false) -> String {
        if d.isNaN { return type.properties.isUppercase ? "NAN" : "nan" }
        if d.isInfinite { return (d < 0 ? "-" : "") + (type.properties.isUppercase ? "INF" : "inf") }
        let fmt = "%" + (alternate ? "#" : "") + ".\(min(max(precision, 0), 100))" + String(type)
        var buffer = [CChar](repeating: 0, count: 512)
        let n = withVaList([d]) { vsnprintf(&buffer, buffer.count, fmt, $0) }
        return String(decoding: buffer[..<min(Int(n), buffer.count - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
