/// Python's `json.dumps(value, ensure_ascii=…, indent=…, separators=…, sort_keys=…)`, the
/// body of Hugging Face's `tojson` filter (jinja2's own `tojson` would HTML-escape and sort).
enum JSONDump {
    static func dump(_ value: Value, ensureASCII: Bool, indent: Value, separators: Value, sortKeys: Bool,
                     budget: Budget) throws(TemplateError) -> String {
        var unit: String?
        switch indent {
        case .none: unit = nil
        case let .string(s): unit = s
        case let .int(n):
            try budget.checkString(n)
            unit = String(repeating: " ", count: max(n, 0))
        case let .bool(b): unit = String(repeating: " ", count: b ? 1 : 0)
        default: throw .type("indent must be an int or a string")
        }
        var itemSep = unit == nil ? ", " : ",", keySep = ": "
        if case let .list(seps) = separators {
            guard seps.count == 2, case let .string(a) = seps[0], case let .string(b) = seps[1] else {
                throw .value("separators must be a pair of strings")
            }
            (itemSep, keySep) = (a, b)
        }
        var d = Dumper(ensureASCII: ensureASCII, indent: unit, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys,
                       maxBytes: budget.limits.maxValueBytes)
        try d.write(value, level: 0)
        try budget.chargeCopy(d.out.utf8.count)
        return d.out
    }

    private struct Dumper {
        let ensureASCII: Bool
        let indent: String?
        let itemSep: String
        let keySep: String
        let sortKeys: Bool
        /// The value size limit: a list can hold one large string many times over, and each
        /// newline repeats the indent once per level, so the size is checked while writing.
        let maxBytes: Int
        var out = ""

        mutating func append(_ s: String) throws(TemplateError) {
            let (total, overflow) = out.utf8.count.addingReportingOverflow(s.utf8.count)
            if overflow || total > maxBytes {
                throw TemplateError(.limit, "rendering exceeded the value size limit of \(maxBytes) bytes")
            }
            out += s
        }

        mutating func newline(_ level: Int) throws(TemplateError) {
            guard let indent else { return }
            let (width, overflow) = indent.utf8.count.multipliedReportingOverflow(by: level)
            if overflow || width > maxBytes { throw TemplateError(.limit, "rendering exceeded the value size limit of \(maxBytes) bytes") }
            try append("\n" + String(repeating: indent, count: level))
        }

        mutating func write(_ value: Value, level: Int) throws(TemplateError) {
            guard level < 512 else { throw .value("Circular reference detected") }
            switch value {
            case .none: try append("null")
            case let .bool(b): try append(b ? "true" : "false")
            case let .int(i): try append(String(i))
            case let .float(d): try append(float(d))
            case let .string(s):
                if s.utf8.count > maxBytes { throw TemplateError(.limit, "rendering exceeded the value size limit of \(maxBytes) bytes") }
                try append(quoted(s))
            case let .list(a):
                guard !a.isEmpty else { try append("[]"); return }
                try append("[")
                for (i, v) in a.enumerated() {
                    if i > 0 { try append(itemSep) }
                    try newline(level + 1)
                    try write(v, level: level + 1)
                }
                try newline(level)
                try append("]")
            case let .dict(d):
                guard d.count > 0 else { try append("{}"); return }
                var pairs = Array(zip(d.keys, d.values))
                if sortKeys {
                    pairs = try SequenceFilters.stableSort(pairs, reverse: false)
                }
                try append("{")
                for (i, (k, v)) in pairs.enumerated() {
                    if i > 0 { try append(itemSep) }
                    try newline(level + 1)
                    try append(quoted(try key(k)))
                    try append(keySep)
                    try write(v, level: level + 1)
                }
                try newline(level)
                try append("}")
            default:
                let name = if case .namespace = value { "Namespace" } else { value.typeName }
                throw .type("Object of type \(name) is not JSON serializable")
            }
        }

        private func float(_ d: Double) -> String {
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return PythonFloat.repr(d)
        }

        private func key(_ k: Value) throws(TemplateError) -> String {
            switch k {
            case let .string(s): return s
            case let .bool(b): return b ? "true" : "false"
            case .none: return "null"
            case let .int(i): return String(i)
            case let .float(d): return float(d)
            default: throw .type("keys must be str, int, float, bool or None, not \(k.typeName)")
            }
        }

        func quoted(_ s: String) -> String {
            var o = String.UnicodeScalarView()
            o.append("\"")
            func hex(_ v: UInt32) {
                let h = String(v, radix: 16)
                o.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - h.count) + h).unicodeScalars)
            }
            for u in s.unicodeScalars {
                switch u {
                case "\"": o.append(contentsOf: "\\\"".unicodeScalars)
                case "\\": o.append(contentsOf: "\\\\".unicodeScalars)
                case "\n": o.append(contentsOf: "\\n".unicodeScalars)
                case "\r": o.append(contentsOf: "\\r".unicodeScalars)
                case "\t": o.append(contentsOf: "\\t".unicodeScalars)
                case "\u{08}": o.append(contentsOf: "\\b".unicodeScalars)
                case "\u{0C}": o.append(contentsOf: "\\f".unicodeScalars)
                default:
                    if u.value < 0x20 || (ensureASCII && u.value > 0x7E) {
                        if u.value > 0xFFFF {
                            let v = u.value - 0x10000
                            hex(0xD800 + (v >> 10))
                            hex(0xDC00 + (v & 0x3FF))
                        } else {
                            hex(u.value)
                        }
                    } else {
                        o.append(u)
                    }
                }
            }
            o.append("\"")
            return String(o)
        }
    }
}

extension Value {
    /// Compact JSON text with object keys in their order (a parsed body sent on as text keeps
    /// the order the chat template prints tool schemas in).
    public func jsonText() throws(TemplateError) -> String {
        try JSONDump.dump(self, ensureASCII: false, indent: .none,
                          separators: .list([.string(","), .string(":")]), sortKeys: false,
                          budget: Budget(RenderLimits(maxValueBytes: .max)))
    }
}
