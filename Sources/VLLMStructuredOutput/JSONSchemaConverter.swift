import VLLMJinja

/// JSON Schema (the draft 2020-12 subset OpenAI and vLLM accept) to a grammar of the JSON texts
/// it allows, laid out as xgrammar lays them out for vLLM:
///
/// - With `anyWhitespace` (vLLM's default) any run of spaces, tabs and newlines may stand between
///   tokens of the JSON text, none before or after it; without it the text is Python's
///   `json.dumps` layout (`{"a": 1, "b": [1, 2]}`).
/// - Object properties come in the schema's order; required ones must appear, optional ones may be
///   left out. Properties not in the schema are refused unless `additionalProperties` allows
///   them (then they follow the declared ones); an object schema without `properties` allows any
///   members.
/// - Numbers have no leading zeros; integers are not written `-0`.
///
/// Chosen differently from xgrammar: a negative number may start with `-0.`; strings never hold
/// raw control characters, also under `minLength`/`maxLength`; `pattern`s and string formats
/// (date, time, date-time, email, uuid, ipv4) only produce text that is valid inside a JSON
/// string (quotes, backslashes and control characters are escaped); integer bounds are exact.
struct JSONSchemaConverter {
    private var grammar = Grammar()
    private let anyWhitespace: Bool
    private let document: Value
    private var refRules: [String: Int] = [:]
    private var shared: [String: Int] = [:]
    private var depth = 0

    static func convert(_ schemaText: String, anyWhitespace: Bool) throws(GrammarError) -> Grammar {
        let schema: Value
        do { schema = try Value(json: schemaText) } catch {
            throw GrammarError("invalid JSON schema: the schema is not valid JSON (\(error))")
        }
        return try convert(schema, anyWhitespace: anyWhitespace)
    }

    static func convert(_ schema: Value, anyWhitespace: Bool) throws(GrammarError) -> Grammar {
        var c = JSONSchemaConverter(anyWhitespace: anyWhitespace, document: schema)
        let root = c.grammar.addRule("root")
        let body = try c.expr(schema, at: "#")
        c.grammar.setBody(root, body)
        c.grammar.root = root
        return c.grammar
    }

    /// `{"type": "object"}`: any JSON object (vLLM's `json_object`).
    static func anyObject(anyWhitespace: Bool) -> Grammar {
        var c = JSONSchemaConverter(anyWhitespace: anyWhitespace, document: .none)
        let root = c.grammar.addRule("root")
        c.grammar.setBody(root, .rule(c.anyObjectRule()))
        c.grammar.root = root
        return c.grammar
    }

    private init(anyWhitespace: Bool, document: Value) {
        self.anyWhitespace = anyWhitespace
        self.document = document
    }

    private func fail(_ what: String, at path: String) -> GrammarError {
        GrammarError("invalid JSON schema at \(path): \(what)")
    }

    // MARK: - Layout

    private var ws: GrammarExpr { anyWhitespace ? .star(.oneOf(" \n\t")) : .empty }
    private var comma: GrammarExpr { anyWhitespace ? .sequence([ws, .literal(","), ws]) : .literal(", ") }
    private var colon: GrammarExpr { anyWhitespace ? .sequence([ws, .literal(":"), ws]) : .literal(": ") }

    private func open(_ bracket: String) -> GrammarExpr { anyWhitespace ? .sequence([.literal(bracket), ws]) : .literal(bracket) }
    private func close(_ bracket: String) -> GrammarExpr { anyWhitespace ? .sequence([ws, .literal(bracket)]) : .literal(bracket) }

    /// A rule made once per grammar (the basic JSON values).
    private mutating func sharedRule(_ name: String, _ make: (inout JSONSchemaConverter, Int) -> GrammarExpr) -> Int {
        if let r = shared[name] { return r }
        let r = grammar.addRule(grammar.freshName(name))
        shared[name] = r
        let body = make(&self, r)
        grammar.setBody(r, body)
        return r
    }

    private mutating func anyValueRule() -> Int {
        sharedRule("value") { c, _ in
            .choice([.rule(c.anyObjectRule()), .rule(c.anyArrayRule()), .rule(c.stringRule()), .rule(c.numberRule()),
                     .literal("true"), .literal("false"), .literal("null")])
        }
    }

    private mutating func anyObjectRule() -> Int {
        sharedRule("object") { c, _ in
            let value = c.anyValueRule(), string = c.stringRule()
            let member = GrammarExpr.sequence([.rule(string), c.colon, .rule(value)])
            return .choice([
                .sequence([c.open("{"), member, .star(.sequence([c.comma, member])), c.close("}")]),
                .sequence([c.open("{"), c.close("}")]),
            ])
        }
    }

    private mutating func anyArrayRule() -> Int {
        sharedRule("array") { c, _ in
            let value = GrammarExpr.rule(c.anyValueRule())
            return .choice([
                .sequence([c.open("["), value, .star(.sequence([c.comma, value])), c.close("]")]),
                .sequence([c.open("["), c.close("]")]),
            ])
        }
    }

    /// Any character a JSON string holds as it is, and the escapes.
    private static let plainCharacter = CodePointSet([0x20...CodePointSet.maxScalar]).subtracting([0x22, 0x5C])
    private static let escape = GrammarExpr.sequence([.literal("\\"), .choice([
        .oneOf("\"\\/bfnrt"),
        .sequence([.literal("u"), .repetition(.charClass(CodePointSet([48...57, 65...70, 97...102])), min: 4, max: 4)]),
    ])])

    private mutating func stringRule() -> Int {
        sharedRule("string") { _, _ in
            .sequence([.literal("\""), .star(.choice([.charClass(Self.plainCharacter), Self.escape])), .literal("\"")])
        }
    }

    private static let integerText = GrammarExpr.choice([
        .literal("0"),
        .sequence([.optional(.literal("-")), .charClass(CodePointSet([49...57])), .star(.charClass(CodePointSet([48...57])))]),
    ])
    private static let digits = GrammarExpr.plus(.charClass(CodePointSet([48...57])))
    private static let fraction = GrammarExpr.sequence([.literal("."), digits])
    private static let exponent = GrammarExpr.sequence([.oneOf("eE"), .optional(.oneOf("+-")), digits])

    private mutating func numberRule() -> Int {
        sharedRule("number") { _, _ in
            .sequence([.optional(.literal("-")), .choice([.literal("0"), .sequence([.charClass(CodePointSet([49...57])), .star(.charClass(CodePointSet([48...57])))])]),
                       .optional(Self.fraction), .optional(Self.exponent)])
        }
    }

    // MARK: - Schemas

    private mutating func expr(_ schema: Value, at path: String) throws(GrammarError) -> GrammarExpr {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw fail("the schema is nested too deeply", at: path) }
        switch schema {
        case let .bool(b):
            guard b else { throw fail("the schema 'false' allows no value", at: path) }
            return .rule(anyValueRule())
        case let .dict(d):
            return try objectSchema(d, at: path)
        default:
            throw fail("a schema must be an object or a boolean", at: path)
        }
    }

    private mutating func objectSchema(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        if let ref = s["$ref"] {
            guard case let .string(target) = ref else { throw fail("$ref must be a string", at: path) }
            return .rule(try refRule(target, at: path))
        }
        if let c = s["const"] { return .literal(try Self.constText(c, at: path)) }
        if let e = s["enum"] {
            guard case let .list(values) = e, !values.isEmpty else { throw fail("enum must be a non-empty array", at: path) }
            var options: [GrammarExpr] = []
            for v in values { options.append(.literal(try Self.constText(v, at: path))) }
            return .choice(options)
        }
        for key in ["anyOf", "oneOf"] {
            if let a = s[key] {
                guard case let .list(options) = a, !options.isEmpty else { throw fail("\(key) must be a non-empty array", at: path) }
                var out: [GrammarExpr] = []
                for (i, o) in options.enumerated() { out.append(try expr(try merged(o, into: s, dropping: key), at: "\(path)/\(key)/\(i)")) }
                return .choice(out)
            }
        }
        if let a = s["allOf"] {
            return try expr(try mergedAllOf(a, base: s, at: path), at: path)
        }
        if let t = s["type"] {
            switch t {
            case let .string(name):
                return try typed(name, s, at: path)
            case let .list(names):
                guard !names.isEmpty else { throw fail("type must not be an empty array", at: path) }
                var out: [GrammarExpr] = []
                for n in names {
                    guard case let .string(name) = n else { throw fail("type names must be strings", at: path) }
                    out.append(try typed(name, s, at: path))
                }
                return .choice(out)
            default:
                throw fail("type must be a string or an array of strings", at: path)
            }
        }
        if s["properties"] != nil || s["additionalProperties"] != nil || s["required"] != nil {
            return try object(s, at: path)
        }
        if s["items"] != nil || s["prefixItems"] != nil { return try array(s, at: path) }
        return .rule(anyValueRule())
    }

    private mutating func typed(_ name: String, _ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        switch name {
        case "string": return try string(s, at: path)
        case "integer": return try integer(s, at: path)
        case "number": return try number(s, at: path)
        case "boolean": return .choice([.literal("true"), .literal("false")])
        case "null": return .literal("null")
        case "object": return try object(s, at: path)
        case "array": return try array(s, at: path)
        default: throw fail("unknown type '\(name)'", at: path)
        }
    }

    /// A `#/…` JSON pointer into this document, as a rule (made once, so recursion works).
    private mutating func refRule(_ target: String, at path: String) throws(GrammarError) -> Int {
        if let r = refRules[target] { return r }
        let node = try resolve(target, at: path)
        let name = target == "#" ? "root_ref" : String(target.split(separator: "/").last ?? "ref")
        let r = grammar.addRule(grammar.freshName(Self.ruleName(name)))
        refRules[target] = r
        grammar.setBody(r, try expr(node, at: target))
        return r
    }

    private static func ruleName(_ s: String) -> String {
        let cleaned = String(s.unicodeScalars.map { $0.properties.isAlphabetic || ($0.value >= 48 && $0.value <= 57) ? Character($0) : "_" })
        return cleaned.isEmpty ? "ref" : cleaned
    }

    /// An `anyOf`/`oneOf` branch sees its parent's other keywords too (`{"type": "object",
    /// "anyOf": [{"required": ["a"]}, …]}`).
    private func merged(_ option: Value, into parent: Dict, dropping key: String) throws(GrammarError) -> Value {
        guard case var .dict(o) = option else { return option }
        for (k, v) in parent.items {
            guard case let .string(name) = k, name != key, o[name] == nil else { continue }
            if ["type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                "pattern", "format", "$defs", "definitions"].contains(name) {
                o[name] = v
            }
        }
        return .dict(o)
    }

    /// `allOf` of object schemas: their properties and requirements together.
    private func mergedAllOf(_ all: Value, base: Dict, at path: String) throws(GrammarError) -> Value {
        guard case let .list(parts) = all, !parts.isEmpty else { throw fail("allOf must be a non-empty array", at: path) }
        var out = base
        out[.string("allOf")] = nil
        var properties = Dict()
        if case let .dict(p)? = base["properties"] { properties = p }
        var required: [Value] = []
        if case let .list(r)? = base["required"] { required = r }
        var sawObject = false
        for part in parts {
            var p: Value = part
            if case let .dict(d) = part, case let .string(ref)? = d["$ref"] { p = try resolve(ref, at: path) }
            guard case let .dict(d) = p else { throw fail("allOf entries must be schemas", at: path) }
            for (k, v) in d.items {
                guard case let .string(name) = k else { continue }
                switch name {
                case "properties":
                    guard case let .dict(ps) = v else { continue }
                    for (pk, pv) in ps.items { properties[pk] = pv }
                    sawObject = true
                case "required":
                    if case let .list(r) = v { required += r }
                case "type":
                    if case .string("object") = v { sawObject = true } else if parts.count > 1 {
                        throw fail("allOf is supported for object schemas only", at: path)
                    }
                    out[.string("type")] = v
                default:
                    if out[k] == nil { out[k] = v }
                }
            }
        }
        if parts.count > 1 && !sawObject { throw fail("allOf is supported for object schemas only", at: path) }
        if properties.count > 0 { out[.string("properties")] = .dict(properties) }
        if !required.isEmpty { out[.string("required")] = .list(required) }
        return .dict(out)
    }

    /// What a `$ref` (a JSON Pointer into this document, RFC 6901) points at.
    private func resolve(_ target: String, at path: String) throws(GrammarError) -> Value {
        guard target == "#" || target.hasPrefix("#/") else {
            throw fail("only references into the same schema ('#/…') are supported, not '\(target)'", at: path)
        }
        var node = document
        guard target != "#" else { return node }
        for raw in target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = String(raw).replacing("~1", with: "/").replacing("~0", with: "~")
            switch node {
            case let .dict(d) where d[key] != nil: node = d[key]!
            case let .list(l) where Int(key).map({ l.indices.contains($0) }) == true: node = l[Int(key)!]
            default: throw fail("$ref '\(target)' does not point into the schema", at: path)
            }
        }
        return node
    }

    /// A constant's JSON text, compact (no whitespace), integral floats as integers.
    static func constText(_ v: Value, at path: String) throws(GrammarError) -> String {
        func normalized(_ v: Value) -> Value {
            switch v {
            case let .float(x) where x.isFinite && x == x.rounded() && abs(x) < 1e15: return .int(Int(x))
            case let .list(items): return .list(items.map(normalized))
            case let .dict(d):
                var out = Dict()
                for (k, x) in d.items { out[k] = normalized(x) }
                return .dict(out)
            default: return v
            }
        }
        do { return try normalized(v).jsonText() } catch { throw GrammarError("invalid JSON schema at \(path): constant cannot be written as JSON") }
    }

    // MARK: - Strings

    private mutating func string(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        if case let .string(pattern)? = s["pattern"] {
            let body: GrammarExpr
            do { body = try RegexConverter.convert(pattern) } catch {
                throw fail("pattern: \(error.message)", at: path)
            }
            return .sequence([.literal("\""), Self.jsonEscaped(body), .literal("\"")])
        }
        if case let .string(format)? = s["format"], let regex = Self.formats[format] {
            let body = try! RegexConverter.convert(regex)
            return .sequence([.literal("\""), Self.jsonEscaped(body), .literal("\"")])
        }
        let minLength = try count(s, "minLength", at: path)
        let maxLength = try count(s, "maxLength", at: path)
        if minLength != nil || maxLength != nil {
            let lo = minLength ?? 0
            if let hi = maxLength, hi < lo { throw fail("maxLength is below minLength", at: path) }
            return .sequence([.literal("\""), .repetition(.charClass(Self.plainCharacter), min: lo, max: maxLength), .literal("\"")])
        }
        return .rule(stringRule())
    }

    /// Regular expressions of the string formats (RFC 3339 dates and times, RFC 4122 UUIDs,
    /// dotted-quad IPv4, a conservative email address).
    static let formats: [String: String] = {
        // Years 0001-9999 (Python's date, which jsonschema checks with, has no year 0), days
        // per month, and February 29 only in leap years.
        let year = #"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"#
        let leapYear = #"([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"#
        let date = "(" + year + #"-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|"#
            + leapYear + "-02-29)"
        let time = #"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"#
        let octet = #"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"#
        let label = #"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"#
        return [
            "date": date,
            "time": time,
            "date-time": date + "T" + time,
            "uuid": #"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"#,
            "ipv4": "(\(octet)\\.){3}\(octet)",
            "email": #"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"# + label + #"(\."# + label + ")+",
        ]
    }()

    /// The same text as the content of a JSON string: `"`, `\` and control characters become escapes.
    static func jsonEscaped(_ e: GrammarExpr) -> GrammarExpr {
        func escapeText(_ v: UInt32) -> String {
            switch v {
            case 0x22: return "\\\""
            case 0x5C: return "\\\\"
            case 0x0A: return "\\n"
            case 0x0D: return "\\r"
            case 0x09: return "\\t"
            case 0x08: return "\\b"
            case 0x0C: return "\\f"
            default:
                let h = String(v, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - h.count) + h
            }
        }
        let special = CodePointSet([0...0x1F, 0x22...0x22, 0x5C...0x5C])
        switch e {
        case let .bytes(bs):
            var out: [UInt8] = []
            for b in bs {
                if b < 0x20 || b == 0x22 || b == 0x5C { out += Array(escapeText(UInt32(b)).utf8) } else { out.append(b) }
            }
            return .bytes(out)
        case let .charClass(set):
            var options: [GrammarExpr] = []
            let plain = set.subtracting(special)
            if !plain.isEmpty { options.append(.charClass(plain)) }
            for r in set.intersection(special).ranges { for v in r { options.append(.literal(escapeText(v))) } }
            return options.count == 1 ? options[0] : .choice(options)
        case .rule: return e
        case let .sequence(items): return .sequence(items.map(jsonEscaped))
        case let .choice(items): return .choice(items.map(jsonEscaped))
        case let .repetition(x, lo, hi): return .repetition(jsonEscaped(x), min: lo, max: hi)
        }
    }

    // MARK: - Numbers

    private func count(_ s: Dict, _ key: String, at path: String) throws(GrammarError) -> Int? {
        guard let v = s[key] else { return nil }
        switch v {
        case let .int(n) where n >= 0: return n
        case let .float(x) where x >= 0 && x == x.rounded() && x < 1e9: return Int(x)
        default: throw fail("\(key) must be a non-negative integer", at: path)
        }
    }

    private func bound(_ s: Dict, _ key: String, at path: String) throws(GrammarError) -> Double? {
        guard let v = s[key] else { return nil }
        switch v {
        case let .int(n): return Double(n)
        case let .float(x) where x.isFinite: return x
        default: throw fail("\(key) must be a number", at: path)
        }
    }

    private func integer(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        var lo: Double? = try bound(s, "minimum", at: path)
        var hi: Double? = try bound(s, "maximum", at: path)
        if let x = try bound(s, "exclusiveMinimum", at: path) { lo = max(lo ?? -.infinity, x.rounded(.down) + 1) }
        if let x = try bound(s, "exclusiveMaximum", at: path) { hi = min(hi ?? .infinity, x.rounded(.up) - 1) }
        guard lo != nil || hi != nil else { return Self.integerText }
        let limit = 1e17
        let low = lo.map { Int(max($0.rounded(.up), -limit)) }
        let high = hi.map { Int(min($0.rounded(.down), limit)) }
        if let low, let high, low > high { throw fail("the integer range is empty", at: path) }
        return IntegerRange.expr(low, high)
    }

    private mutating func number(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        let keys = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
        guard keys.contains(where: { s[$0] != nil }) else { return .rule(numberRule()) }
        var bounds: [String: DecimalBound] = [:]
        for k in keys {
            guard let b = try bound(s, k, at: path) else { continue }
            guard let d = DecimalBound(b) else {
                throw fail("\(k) must have a magnitude below 1e17 and at most 20 decimal places", at: path)
            }
            bounds[k] = d
        }
        return try NumberRange.expr(bounds) { fail($0, at: path) }
    }

    // MARK: - Objects and arrays

    private mutating func object(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        var properties: [(String, Value)] = []
        if let p = s["properties"] {
            guard case let .dict(d) = p else { throw fail("properties must be an object", at: path) }
            for (k, v) in d.items { if case let .string(name) = k { properties.append((name, v)) } }
        }
        var required = Set<String>()
        if case let .list(r)? = s["required"] { for v in r { if case let .string(n) = v { required.insert(n) } } }
        // Required names without a schema of their own take any value.
        if case let .list(r)? = s["required"] {
            for v in r { if case let .string(n) = v, !properties.contains(where: { $0.0 == n }) { properties.append((n, .bool(true))) } }
        }
        let additional: GrammarExpr?
        switch s["additionalProperties"] {
        case nil: additional = properties.isEmpty ? .rule(anyValueRule()) : nil
        case .bool(true)?: additional = .rule(anyValueRule())
        case .bool(false)?: additional = nil
        case let other?: additional = try expr(other, at: "\(path)/additionalProperties")
        }
        if properties.isEmpty && additional == .rule(anyValueRule()) { return .rule(anyObjectRule()) }

        var members: [GrammarExpr] = []
        for (name, schema) in properties {
            let key = try Self.constText(.string(name), at: path)
            let value = try expr(schema, at: "\(path)/properties/\(name)")
            members.append(.sequence([.literal(key), colon, value]))
        }
        let extra: GrammarExpr? = additional.map { .sequence([.rule(stringRule()), colon, $0]) }
        // after[k]: members k… when one member came before (each is led by a comma).
        var after: GrammarExpr = extra.map { .star(.sequence([comma, $0])) } ?? .empty
        // first[k]: members k… when none came before.
        var first: GrammarExpr = extra.map { .optional(.sequence([$0, .star(.sequence([comma, $0]))])) } ?? .empty
        for k in stride(from: properties.count - 1, through: 0, by: -1) {
            let afterRule = grammar.addRule(grammar.freshName("members"))
            grammar.setBody(afterRule, after)
            let withThis = GrammarExpr.sequence([members[k], .rule(afterRule)])
            if required.contains(properties[k].0) {
                first = withThis
                after = .sequence([comma, members[k], .rule(afterRule)])
            } else {
                first = .choice([withThis, first])
                after = .choice([.sequence([comma, members[k], .rule(afterRule)]), .rule(afterRule)])
            }
        }
        return .sequence([open("{"), first, close("}")])
    }

    private mutating func array(_ s: Dict, at path: String) throws(GrammarError) -> GrammarExpr {
        var prefix: [GrammarExpr] = []
        if let p = s["prefixItems"] {
            guard case let .list(items) = p else { throw fail("prefixItems must be an array", at: path) }
            for (i, item) in items.enumerated() { prefix.append(try expr(item, at: "\(path)/prefixItems/\(i)")) }
        }
        let rest: GrammarExpr?
        switch s["items"] {
        case nil: rest = prefix.isEmpty ? .rule(anyValueRule()) : nil
        case .bool(false)?: rest = nil
        case let item?: rest = try expr(item, at: "\(path)/items")
        }
        let minItems = try count(s, "minItems", at: path) ?? 0
        var maxItems = try count(s, "maxItems", at: path)
        if rest == nil { maxItems = min(maxItems ?? prefix.count, prefix.count) }
        if let m = maxItems, m < minItems { throw fail("the array length range is empty (minItems \(minItems) > maxItems \(m))", at: path) }
        if minItems > 10_000 || (maxItems ?? 0) > 10_000 { throw fail("minItems/maxItems above 10000 are not supported", at: path) }

        let comma = self.comma
        // Elements from index i on, when i elements came before.
        func elements(from i: Int) -> GrammarExpr {
            let sep: GrammarExpr = i == 0 ? .empty : comma
            if let m = maxItems, i >= m { return .empty }
            if i < prefix.count {
                let this = GrammarExpr.sequence([sep, prefix[i], elements(from: i + 1)])
                return i < minItems ? this : .choice([this, .empty])
            }
            guard let rest else { return .empty }
            let need = max(minItems - i, 0)
            let cap = maxItems.map { $0 - i }
            if i == 0 {
                let tail = GrammarExpr.repetition(.sequence([comma, rest]), min: max(need - 1, 0), max: cap.map { $0 - 1 })
                let some = GrammarExpr.sequence([rest, tail])
                return need > 0 ? some : .choice([some, .empty])
            }
            return .repetition(.sequence([comma, rest]), min: need, max: cap)
        }
        let body = elements(from: 0)
        if minItems == 0 && body == .empty { return .sequence([open("["), close("]")]) }
        return .sequence([open("["), body, close("]")])
    }
}

extension CodePointSet {
    func subtracting(_ values: [UInt32]) -> CodePointSet { subtracting(CodePointSet(values)) }
    func subtracting(_ other: CodePointSet) -> CodePointSet { intersection(other.complement()) }
    func intersection(_ other: CodePointSet) -> CodePointSet {
        var out = CodePointSet()
        for a in ranges {
            for b in other.ranges where a.overlaps(b) {
                out.insert(max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound))
            }
        }
        return out
    }
}
