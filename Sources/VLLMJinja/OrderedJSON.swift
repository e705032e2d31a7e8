/// A JSON value to write, keys in the order given and nil optionals as explicit `null`s: the
/// CLI and the server print vLLM-shaped objects, and OpenAI clients rely on fields such as
/// `"finish_reason": null` that `JSONEncoder` would omit.
public indirect enum OrderedJSON: Sendable {
    case int(Int), double(Double), string(String), bool(Bool), null
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    /// `.string(s)` or `null`.
    public static func string(_ s: String?) -> OrderedJSON { s.map { .string($0) } ?? .null }
    /// `.int(v)` or `null`.
    public static func int(_ v: Int?) -> OrderedJSON { v.map { .int($0) } ?? .null }

    /// The JSON text; the default separators give compact output, `", "` and `": "` Python's
    /// `json.dumps` style.
    public func text(itemSeparator: String = ",", keySeparator: String = ":") -> String {
        var out = ""
        write(into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator)
        return out
    }

    public func write(into out: inout String, itemSeparator: String = ",", keySeparator: String = ":") {
        switch self {
        case let .int(v): out += String(v)
        // JSON has no infinities or NaN; vLLM's server clamps -inf logprobs to -9999.0.
        case let .double(v): out += v.isFinite ? String(v) : (v > 0 ? "9999.0" : "-9999.0")
        case let .string(s): Self.quote(s, into: &out)
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        case let .array(a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += itemSeparator }
                v.write(into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator)
            }
            out += "]"
        case let .object(o):
            out += "{"
            for (i, (k, v)) in o.enumerated() {
                if i > 0 { out += itemSeparator }
                Self.quote(k, into: &out)
                out += keySeparator
                v.write(into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator)
            }
            out += "}"
        }
    }

    /// A JSON string literal; non-ASCII characters are written as they are.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
