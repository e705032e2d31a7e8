/// jinja2's built-in filters (and Hugging Face's `tojson`), by name. String-shaped filters are
/// here; filters over sequences are in `SequenceFilters.swift`.
enum Filters {
    /// Every filter name the engine knows; the parser rejects others up front, as jinja2's
    /// compiler does ("No filter named …").
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
        "safe", "select", "selectattr", "sort", "string", "striptags", "sum", "title", "tojson", "trim",
        "truncate", "unique", "upper", "wordcount",
    ]

    /// Filters that take no argument besides the value: extra ones are a TypeError in jinja2.
    private static let noArguments: Set<String> = [
        "abs", "capitalize", "count", "e", "escape", "first", "forceescape", "items", "last", "length", "list",
        "lower", "reverse", "safe", "string", "striptags", "title", "upper", "wordcount",
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interp: Interpreter) throws(TemplateError) -> Value {
        if noArguments.contains(name) && (!args.positional.isEmpty || !args.keywords.isEmpty) {
            throw .type("\(name)() takes no arguments besides the value")
        }
        let b = interp.budget
        switch name {
        case "default", "d":
            try args.check(name, ["default_value", "boolean"])
            let fallback = args.get(0, "default_value") ?? .string("")
            let boolean = args.get(1, "boolean")?.truthy ?? false
            return value.isUndefined || (boolean && !value.truthy) ? fallback : value
        case "string", "safe":
            return .string(try b.str(value))
        case "e", "escape", "forceescape":
            return .string(htmlEscape(try b.str(value)))
        case "upper": return .string(Case.upper(try b.str(value)))
        case "lower": return .string(Case.lower(try b.str(value)))
        case "capitalize": return .string(Case.capitalize(try b.str(value)))
        case "title": return .string(Case.jinjaTitle(try b.str(value)))
        case "trim":
            try args.check(name, ["chars"])
            var chars: Scalars?
            if let c = args.get(0, "chars"), !c.isNone { chars = try b.str(c).scalars }
            return .string(String(try b.str(value).scalars.stripped(chars)))
        case "replace":
            try args.check(name, ["old", "new", "count"])
            guard let old = args.get(0, "old"), let new = args.get(1, "new") else { throw .type("replace() missing arguments") }
            var count = -1
            if let c = args.get(2, "count"), !c.isNone { count = c.intValue }
            return .string(String(try b.str(value).scalars.replacing(try b.str(old).scalars, with: try b.str(new).scalars,
                                                                       count: count, budget: b)))
        case "center":
            let width = args.get(0, "width")?.intValue ?? 80
            return .string(try Padding.pad(try b.str(value), width: width, fill: " ", align: "^", b))
        case "indent": return .string(try indent(try b.str(value), args, b))
        case "truncate": return .string(try truncate(try b.str(value), args, b))
        case "wordcount":
            let words = try b.str(value).unicodeScalars.split { !($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_") }
            return .int(words.count)
        case "striptags": return .string(stripTags(try b.str(value)))
        case "format":
            if !args.keywords.isEmpty {
                var d = Dict()
                for (k, v) in args.keywords { d[k] = v }
                return .string(try PercentFormat.format(try b.str(value), .dict(d), b))
            }
            return .string(try PercentFormat.format(try b.str(value), .list(args.positional), b))
        case "tojson":
            try args.check(name, ["ensure_ascii", "indent", "separators", "sort_keys"])
            return .string(try JSONDump.dump(value, ensureASCII: args.get(0, "ensure_ascii")?.truthy ?? false,
                                             indent: args.get(1, "indent") ?? .none,
                                             separators: args.get(2, "separators") ?? .none,
                                             sortKeys: args.get(3, "sort_keys")?.truthy ?? false, budget: b))
        case "int": return try toInt(value, args)
        case "float":
            let fallback = args.get(0, "default") ?? .float(0)
            switch value {
            case let .float(d): return .float(d)
            case let .int(i): return .float(Double(i))
            case let .bool(b): return .float(b ? 1 : 0)
            case let .string(s): return Double(String(s.scalars.stripped(nil))).map(Value.float) ?? fallback
            default: return fallback
            }
        case "abs":
            switch value {
            case let .int(i): return i == .min ? .float(-Double(i)) : .int(abs(i))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .float(d): return .float(abs(d))
            case .undefined: throw value.undefinedError
            default: throw .type("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round": return try round(value, args, b)
        case "attr":
            guard case let .string(attr)? = args.positional.first else { throw .type("attr() needs a name") }
            if let m = try Methods.bound(value, attr) { return m }
            if case let .namespace(ns) = value, let v = ns.attributes[attr] { return v }
            if case let .object(o) = value, let v = try o.attribute(attr) { return v }
            return Access.missing(value, attr)
        default:
            return try SequenceFilters.apply(name, value, args, interp)
        }
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// jinja2's `indent`: a newline is appended first so `splitlines` keeps a trailing empty line.
    private static func indent(_ s: String, _ args: Arguments, _ budget: Budget) throws(TemplateError) -> String {
        let width = args.get(0, "width") ?? .int(4)
        let indention: String
        if case let .string(w) = width {
            indention = w
        } else {
            try budget.checkString(width.intValue)
            indention = String(repeating: " ", count: max(width.intValue, 0))
        }
        let first = args.get(1, "first")?.truthy ?? false
        let blank = args.get(2, "blank")?.truthy ?? false
        let lines = (s + "\n").scalars.splitLines().map { String($0) }
        // Every line gains the indent: refuse before building when that is too much.
        try budget.checkString(s.utf8.count &+ 1, plus: (lines.count &+ 1).multipliedReportingOverflow(by: indention.utf8.count).partialValue)
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.first ?? ""
            if lines.count > 1 {
                rv += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        return first ? indention + rv : rv
    }

    private static func truncate(_ s: String, _ args: Arguments, _ budget: Budget) throws(TemplateError) -> String {
        let length = args.get(0, "length")?.intValue ?? 255
        let killwords = args.get(1, "killwords")?.truthy ?? false
        let end = try budget.str(args.get(2, "end") ?? .string("..."))
        let leeway = args.get(3, "leeway").flatMap { $0.isNone ? nil : $0.intValue } ?? 5
        guard length >= end.pyCount else { throw .runtime("AssertionError: expected length >= \(end.pyCount), got \(length)") }
        guard leeway >= 0 else { throw .runtime("AssertionError: expected leeway >= 0, got \(leeway)") }
        let scalars = s.scalars
        // Saturating: `length` may be anything up to Int.max.
        let (reach, overflow) = length.addingReportingOverflow(leeway)
        if overflow || scalars.count <= reach { return s }
        let head = Array(scalars.prefix(length - end.pyCount))
        if killwords { return String(head) + end }
        let cut = head.rfind([" "]).map { Array(head[..<$0]) } ?? head
        return String(cut) + end
    }

    private static func stripTags(_ s: String) -> String {
        var out = String.UnicodeScalarView(), inTag = false
        for u in s.unicodeScalars {
            if u == "<" { inTag = true } else if u == ">" && inTag { inTag = false } else if !inTag { out.append(u) }
        }
        return (try? String(out).scalars.pySplit(nil).map { String($0) }.joined(separator: " ")) ?? ""
    }

    private static func toInt(_ value: Value, _ args: Arguments) throws(TemplateError) -> Value {
        let fallback = args.get(0, "default") ?? .int(0)
        let base = args.get(1, "base")?.intValue ?? 10
        switch value {
        case let .int(i): return .int(i)
        case let .bool(b): return .int(b ? 1 : 0)
        case let .float(d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : fallback
        case let .string(s):
            let text = String(s.scalars.stripped(nil)).replacingUnderscores
            // `Int(_:radix:)` traps outside 2...36; Python's int() raises, and the filter falls back.
            if (2...36).contains(base), let i = Int(text, radix: base) { return .int(i) }
            if let d = Double(text), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
            return fallback
        case .undefined: throw value.undefinedError
        default: return fallback
        }
    }

    /// `round(value, precision, method)`: 'common' is Python's round (half to even), which
    /// keeps an int an int.
    private static func round(_ value: Value, _ args: Arguments, _ budget: Budget) throws(TemplateError) -> Value {
        // Past 10**400 the scale is infinite either way; clamping keeps the loop below short.
        let precision = min(max(args.get(0, "precision")?.intValue ?? 0, -400), 400)
        let method = try budget.str(args.get(1, "method") ?? .string("common"))
        guard ["common", "ceil", "floor"].contains(method) else { throw .runtime("FilterArgumentError: method must be common, ceil or floor") }
        guard let n = Operators.number(value) else {
            if value.isUndefined { throw value.undefinedError }
            throw .type("type \(value.typeName) doesn't define __round__ method")
        }
        if method == "common", case let .int(i) = n { return .int(i) }
        var scale = 1.0
        for _ in 0..<abs(precision) { scale *= 10 }
        let x = precision >= 0 ? n.double * scale : n.double / scale
        let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
        // Python returns the value itself when the scale overflows a float, and a signed zero
        // when it rounds everything away.
        if !scale.isFinite { return .float(precision > 0 ? n.double : 0 * n.double) }
        let r = x.rounded(rule)
        return .float(precision >= 0 ? r / scale : r * scale)
    }
}

extension String {
    var replacingUnderscores: String { String(unicodeScalars.filter { $0 != "_" }) }
}
