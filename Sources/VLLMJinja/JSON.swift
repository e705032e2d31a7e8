/// JSON in and out. Parsing keeps object keys in document order, since templates iterate
/// tool schemas and print them; dumping follows Python's `json.dumps`, which Hugging Face's
/// `tojson` filter calls.
extension Value {
    /// Parses JSON text (as Python's `json.loads` would) into a template value.
    public init(json text: String) throws(TemplateError) {
        var p = JSONParser(Array(text.utf8))
        p.skipSpace()
        self = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("Extra data") }
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ what: String) -> TemplateError { .value("invalid JSON: \(what) at byte \(i)") }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func literal(_ word: String, _ v: Value) throws(TemplateError) -> Value {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("Expecting value") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws(TemplateError) -> Value {
        guard depth < 512 else { throw fail("nesting too deep") }
        guard i < bytes.count else { throw fail("Expecting value") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var d = Dict()
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("Expecting property name enclosed in double quotes") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("Expecting ':' delimiter") }
                i += 1
                skipSpace()
                d[key] = try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw fail("Expecting ',' delimiter") }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
                guard bytes[i] == UInt8(ascii: ",") else { throw fail("Expecting ',' delimiter") }
                i += 1
            }
        case UInt8(ascii: "["):
            i += 1
            var a: [Value] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .list(a) }
            while true {
                skipSpace()
                a.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("Expecting ',' delimiter") }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .list(a) }
                guard bytes[i] == UInt8(ascii: ",") else { throw fail("Expecting ',' delimiter") }
                i += 1
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .none)
        case UInt8(ascii: "N"): return try literal("NaN", .float(.nan))
        case UInt8(ascii: "I"): return try literal("Infinity", .float(.infinity))
        default: return try number()
        }
    }

    private mutating func number() throws(TemplateError) -> Value {
        let start = i
        if i < bytes.count && bytes[i] == UInt8(ascii: "-") {
            i += 1
            if i < bytes.count && bytes[i] == UInt8(ascii: "I") { _ = try literal("Infinity", .none); return .float(-.infinity) }
        }
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("Expecting value") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while i < bytes.count && isDigit(bytes[i]) { i += 1 } }
        var isFloat = false
        if i + 1 < bytes.count && bytes[i] == UInt8(ascii: ".") && isDigit(bytes[i + 1]) {
            isFloat = true
            i += 1
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            var j = i + 1
            if j < bytes.count && (bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-")) { j += 1 }
            if j < bytes.count && isDigit(bytes[j]) {
                isFloat = true
                i = j
                while i < bytes.count && isDigit(bytes[i]) { i += 1 }
            }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isFloat { return .float(Double(text) ?? .nan) }
        guard let v = Int(text) else { throw fail("integer too large for this engine") }
        return .int(v)
    }

    private mutating func hex4() throws(TemplateError) -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("Invalid \\uXXXX escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws(TemplateError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("Unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw fail("Invalid control character") }
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("Unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) { v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) } else { i = save }
                }
                // A lone surrogate cannot be stored in a Swift string.
                out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
            default: throw fail("Invalid \\escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
