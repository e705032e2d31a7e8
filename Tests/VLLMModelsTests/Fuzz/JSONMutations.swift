/// Structured corruptions of a JSON text (a safetensors header, an adapter_config.json): one
/// number or string token swapped for a hostile one, or deep nesting spliced in.
enum JSONMutations {
    /// Numbers that do not fit, are negative, fractional, or not numbers at all.
    static let hostileNumbers = ["0", "-1", "1.5", "1e308", "-1e308", "1e999", "9223372036854775807",
                                 "9223372036854775808", "18446744073709551615", "18446744073709551616",
                                 "2147483648", "4294967296", "100000001", "true", "null", "\"7\"", "[]", "{}"]
    /// Strings naming nothing valid, plus the dtypes a safetensors loader must size correctly.
    static let hostileStrings = ["\"\"", "\"F8_E4M3\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"F64\"", "\"Q4_0\"",
                                 "\"f32\"", "\"__metadata__\"", "\"lora_A\"", "\"\\u0000\"", "\"\\ud800\"", "0", "null", "[]"]

    /// Ranges of the number and string tokens in `text` (a simple scan; strings may hold escapes).
    static func tokens(_ text: [UInt8]) -> [(range: Range<Int>, isString: Bool)] {
        var out: [(Range<Int>, Bool)] = [], i = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                while j < text.count, text[j] != UInt8(ascii: "\"") { j += text[j] == UInt8(ascii: "\\") ? 2 : 1 }
                out.append((i..<min(j + 1, text.count), true)); i = j + 1
            } else if c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                var j = i + 1
                while j < text.count, "0123456789.eE+-".utf8.contains(text[j]) { j += 1 }
                out.append((i..<j, false)); i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// Replaces one token with a hostile one, or wraps a value in thousands of brackets.
    static func mutate(_ text: [UInt8], rng: inout FuzzRandom) -> (text: [UInt8], what: String) {
        let toks = tokens(text)
        if rng.chance(10) || toks.isEmpty {
            // Nesting deep enough to exhaust a recursive parser's stack.
            let depth = rng.pick([1000, 100_000, 1_000_000])
            let open = rng.chance(50) ? "[" : "{\"k\":"
            let close = open == "[" ? "]" : "}"
            let at = toks.isEmpty ? text.count / 2 : rng.pick(toks).range.lowerBound
            let nest = Array(String(repeating: open, count: depth).utf8) + Array("0".utf8) + Array(String(repeating: close, count: depth).utf8)
            return (Array(text[..<at]) + nest + Array(text[at...]), "nest \(depth) deep at \(at)")
        }
        let t = rng.pick(toks)
        let new = t.isString && rng.chance(60) ? rng.pick(hostileStrings) : rng.pick(hostileNumbers)
        let old = String(decoding: text[t.range], as: UTF8.self)
        return (Array(text[..<t.range.lowerBound]) + Array(new.utf8) + Array(text[t.range.upperBound...]), "replace \(old) with \(new)")
    }
}
