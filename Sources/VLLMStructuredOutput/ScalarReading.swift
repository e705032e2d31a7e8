/// Readers the regex and EBNF parsers share, over a pattern's scalars and an index into them.
enum ScalarReading {
    /// The decimal number at `i` (capped at 1,000,000), moving past it; nil when no digit is there.
    static func number(_ s: [Unicode.Scalar], _ i: inout Int) -> Int? {
        var v: Int? = nil
        while i < s.count, s[i].value >= 48 && s[i].value <= 57 {
            v = min((v ?? 0) * 10 + Int(s[i].value - 48), 1_000_000)
            i += 1
        }
        return v
    }

    /// The character written as `n` hex digits at `i` (`\xHH`, `\uHHHH`, `\UHHHHHHHH`), moving
    /// past them; the error's text otherwise.
    static func hexScalar(_ s: [Unicode.Scalar], _ i: inout Int, digits n: Int) -> Result<UInt32, HexEscapeError> {
        guard i + n <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<i + n])), radix: 16) else {
            return .failure(HexEscapeError("incomplete hex escape"))
        }
        i += n
        guard v <= CodePointSet.maxScalar, !(0xD800...0xDFFF).contains(v) else {
            return .failure(HexEscapeError("escape \\u\(String(v, radix: 16)) is not a character"))
        }
        return .success(v)
    }
}

struct HexEscapeError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
