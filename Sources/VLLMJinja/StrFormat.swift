/// Python's `str.format`: `'{}'`, `'{0}'`, `'{name}'`, `'{0[key]}'`, `'{x.attr}'`, conversions
/// `!r`/`!s` and format specs such as `{:>10}`, `{:.2f}`, `{:,}`.
enum StrFormat {
    static func format(_ template: String, _ args: Arguments, _ budget: Budget) throws(TemplateError) -> String {
        let f = template.scalars
        var out = "", i = 0, auto = 0
        func append(_ piece: String) throws(TemplateError) {
            try budget.checkString(out.utf8.count, plus: piece.utf8.count)
            try budget.chargeCopy(piece.utf8.count)
            out += piece
        }
        while i < f.count {
            let c = f[i]
            if c == "}" {
                guard i + 1 < f.count, f[i + 1] == "}" else { throw .value("Single '}' encountered in format string") }
                try append("}")
                i += 2
                continue
            }
            guard c == "{" else {
                let start = i
                while i < f.count && f[i] != "{" && f[i] != "}" { i += 1 }
                try append(String(f[start..<i]))
                continue
            }
            if i + 1 < f.count && f[i + 1] == "{" { try append("{"); i += 2; continue }
            guard let close = f.find(["}"], from: i) else { throw .value("expected '}' before end of string") }
            var field = Array(f[(i + 1)..<close])
            i = close + 1
            var spec: Scalars = [], conversion: Unicode.Scalar?
            if let colon = field.firstIndex(of: ":") { spec = Array(field[(colon + 1)...]); field = Array(field[..<colon]) }
            if let bang = field.firstIndex(of: "!"), bang + 1 < field.count { conversion = field[bang + 1]; field = Array(field[..<bang]) }
            var value = try lookup(field, args, &auto)
            if conversion == "r" || conversion == "a" { value = .string(try budget.repr(value)) } else if conversion == "s" { value = .string(try budget.str(value)) }
            try append(try apply(String(spec), to: value, budget))
        }
        return out
    }

    private static func lookup(_ field: Scalars, _ args: Arguments, _ auto: inout Int) throws(TemplateError) -> Value {
        var end = 0
        while end < field.count && field[end] != "." && field[end] != "[" { end += 1 }
        let head = String(field[..<end])
        var value: Value
        if head.isEmpty {
            guard auto < args.positional.count else { throw .runtime("IndexError: Replacement index \(auto) out of range for positional args tuple") }
            value = args.positional[auto]
            auto += 1
        } else if let n = Int(head), n >= 0 {
            guard n < args.positional.count else { throw .runtime("IndexError: Replacement index \(n) out of range for positional args tuple") }
            value = args.positional[n]
        } else {
            guard let v = args.keywords.last(where: { $0.0 == head })?.1 else { throw .runtime("KeyError: \(PythonString.repr(head))") }
            value = v
        }
        var i = end
        while i < field.count {
            if field[i] == "." {
                var j = i + 1
                while j < field.count && field[j] != "." && field[j] != "[" { j += 1 }
                value = try Access.attribute(value, String(field[(i + 1)..<j]))
                i = j
            } else {
                guard let close = field.find(["]"], from: i) else { throw .value("Missing ']' in format string") }
                let key = String(field[(i + 1)..<close])
                value = try Access.item(value, Int(key).map(Value.int) ?? .string(key))
                i = close + 1
            }
        }
        return value
    }

    /// The format-spec mini-language: `[[fill]align][sign][#][0][width][,|_][.precision][type]`.
    static func apply(_ specText: String, to value: Value, _ budget: Budget) throws(TemplateError) -> String {
        var s = specText.scalars, i = 0
        var fill: Unicode.Scalar = " ", align: Unicode.Scalar?
        if s.count >= 2 && "<>^=".unicodeScalars.contains(s[1]) { fill = s[0]; align = s[1]; i = 2 }
        else if !s.isEmpty && "<>^=".unicodeScalars.contains(s[0]) { align = s[0]; i = 1 }
        var sign: Unicode.Scalar = "-"
        if i < s.count && "+- ".unicodeScalars.contains(s[i]) { sign = s[i]; i += 1 }
        if i < s.count && s[i] == "#" { i += 1 }
        if i < s.count && s[i] == "0" && align == nil { fill = "0"; align = "="; i += 1 }
        func number(_ what: String) throws(TemplateError) -> Int {
            var n = 0
            while i < s.count, let d = s[i].decimalDigit {
                let (times10, o1) = n.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(d)
                if o1 || o2 { throw .value("Too many decimal digits in format string") }
                n = sum
                i += 1
            }
            return n
        }
        let width = try number("width")
        // The width is how many characters padding builds: refuse it before building.
        try budget.checkString(width)
        var grouping: Unicode.Scalar?
        if i < s.count && (s[i] == "," || s[i] == "_") { grouping = s[i]; i += 1 }
        var precision: Int?
        if i < s.count && s[i] == "." {
            i += 1
            precision = try number("precision")
        }
        let type: Unicode.Scalar? = i < s.count ? s[i] : nil
        s = []
        var body: String
        var negative = false
        switch (value, type) {
        case let (.string(str), nil), let (.string(str), "s"?):
            body = precision.map { String(str.scalars.prefix($0)) } ?? str
        case (.string, _):
            throw .value("Unknown format code '\(type.map(String.init) ?? "")' for object of type 'str'")
        default:
            guard let n = Operators.number(value) else {
                if type == nil || type == "s" { body = try budget.str(value); break }
                throw .value("Unknown format code for object of type '\(value.typeName)'")
            }
            if case .bool = value, type == nil { body = value.pyStr; break }
            switch (n, type) {
            case let (.int(v), nil), let (.int(v), "d"?):
                negative = v < 0
                body = group(String(v.magnitude), grouping)
            case let (.int(v), "x"?), let (.int(v), "X"?), let (.int(v), "o"?), let (.int(v), "b"?):
                negative = v < 0
                body = String(v.magnitude, radix: type == "o" ? 8 : type == "b" ? 2 : 16, uppercase: type == "X")
            case (_, "%"?):
                negative = n.double < 0
                body = group(PercentFormat.cFormat(abs(n.double) * 100, "f", precision: precision ?? 6), grouping) + "%"
            case (_, let t?) where "eEfFgG".unicodeScalars.contains(t):
                negative = n.double < 0 || (n.double == 0 && n.double.sign == .minus)
                body = group(PercentFormat.cFormat(abs(n.double), t, precision: precision ?? 6), grouping)
            case let (.float(d), nil):
                negative = d < 0 || (d == 0 && d.sign == .minus)
                body = precision.map { PythonFloat.repr(Double(PercentFormat.cFormat(abs(d), "g", precision: max($0, 1))) ?? d) }
                    ?? group(PythonFloat.repr(abs(d)), grouping)
            default:
                throw .value("Unknown format code '\(type.map(String.init) ?? "")' for object of type '\(value.typeName)'")
            }
        }
        let signText = negative ? "-" : sign == "+" ? "+" : sign == " " ? " " : ""
        let isNumber = !(value.isString) && Operators.number(value) != nil
        let total = signText.pyCount + body.pyCount
        guard width > total else { return signText + body }
        let pad = width - total
        let padding = { (k: Int) in String(repeating: String(fill), count: k) }
        switch align ?? (isNumber ? ">" : "<") {
        case "<": return signText + body + padding(pad)
        case "^": return padding(pad / 2) + signText + body + padding(pad - pad / 2)
        case "=": return signText + padding(pad) + body
        default: return padding(pad) + signText + body
        }
    }

    private static func group(_ digits: String, _ separator: Unicode.Scalar?) -> String {
        guard let separator else { return digits }
        var s = digits.scalars
        var tail: Scalars = []
        if let dot = s.firstIndex(where: { !("0"..."9").contains($0) }) { tail = Array(s[dot...]); s = Array(s[..<dot]) }
        var out: Scalars = []
        for (k, c) in s.enumerated() {
            if k > 0 && (s.count - k) % 3 == 0 { out.append(separator) }
            out.append(c)
        }
        return String(out + tail)
    }
}
