/// A JSON value that keeps object keys in the order written (the CLI prints vLLM-shaped objects).
indirect enum JSON {
    case int(Int), double(Double), string(String), bool(Bool), null
    case array([JSON])
    case object([(String, JSON)])

    var encoded: String {
        switch self {
        case let .int(v): return String(v)
        // JSON has no infinities; like vLLM's server, clamp -inf logprobs to -9999.
        case let .double(v): return v.isFinite ? "\(v)" : (v < 0 ? "-9999.0" : "9999.0")
        case let .string(s): return Self.quote(s)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "null"
        case let .array(a): return "[" + a.map(\.encoded).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.map { Self.quote($0.0) + ": " + $0.1.encoded }.joined(separator: ", ") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
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
        return out + "\""
    }
}
