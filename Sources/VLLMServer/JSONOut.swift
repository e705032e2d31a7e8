import NIOCore

/// A JSON value for responses. Keys keep the order written (responses read like vLLM's) and
/// nil optionals become explicit `null`s: the OpenAI API sends `"finish_reason": null` and some
/// clients rely on it, which `JSONEncoder` would omit.
indirect enum JSONOut: Sendable {
    case int(Int), double(Double), string(String), bool(Bool), null
    case array([JSONOut])
    case object([(String, JSONOut)])

    /// `.string(s)` or `null`.
    static func string(_ s: String?) -> JSONOut { s.map { .string($0) } ?? .null }
    /// `.int(v)` or `null`.
    static func int(_ v: Int?) -> JSONOut { v.map { .int($0) } ?? .null }

    /// The compact JSON text.
    var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// The JSON text in a buffer, for a response body.
    var buffer: ByteBuffer { ByteBuffer(string: text) }

    func write(into out: inout String) {
        switch self {
        case let .int(v): out += String(v)
        // JSON has no infinities or NaN; vLLM's server clamps -inf logprobs to -9999.0.
        case let .double(v):
            out += v.isFinite ? String(v) : (v > 0 ? "9999.0" : "-9999.0")
        case let .string(s): Self.quote(s, into: &out)
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        case let .array(a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case let .object(o):
            out += "{"
            for (i, (k, v)) in o.enumerated() {
                if i > 0 { out += "," }
                Self.quote(k, into: &out)
                out += ":"
                v.write(into: &out)
            }
            out += "}"
        }
    }

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
