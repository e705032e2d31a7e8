/// Regular expressions (Python `re` syntax, the subset that compiles to a grammar) to grammar
/// expressions; the whole output must match. As in xgrammar, which vLLM uses for `regex`
/// constraints: `.` matches any character including a newline, `\d` and `\w` are ASCII, `\s` is
/// `[ \t\n\r\f\v\u00a0]`, lazy quantifiers mean the same as greedy ones and `^`/`$` only at the ends.
/// Lookaround, backreferences, word boundaries and inline flags are refused: no grammar expresses
/// them.
struct RegexConverter {
    private let chars: [Unicode.Scalar]
    private var i = 0
    private let source: String

    static func convert(_ pattern: String) throws(GrammarError) -> GrammarExpr {
        var c = RegexConverter(pattern)
        if c.peek == "^" { c.i += 1 }
        let e = try c.alternation()
        if c.i < c.chars.count {
            // Only an unmatched ')' stops the top level early.
            throw c.fail("unbalanced parenthesis")
        }
        return e
    }

    private init(_ pattern: String) {
        chars = Array(pattern.unicodeScalars)
        source = pattern
    }

    private var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    private func fail(_ what: String) -> GrammarError {
        GrammarError("invalid regex \(Self.quoted(source)): \(what) at position \(i)")
    }

    static func quoted(_ s: String) -> String {
        s.count > 80 ? "'\(s.prefix(77))...'" : "'\(s)'"
    }

    private mutating func alternation() throws(GrammarError) -> GrammarExpr {
        var options = [try concatenation()]
        while peek == "|" {
            i += 1
            options.append(try concatenation())
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    private mutating func concatenation() throws(GrammarError) -> GrammarExpr {
        var items: [GrammarExpr] = []
        while let c = peek, c != "|", c != ")" {
            if c == "$" {
                // An end anchor is only meaningful at the very end (or before a ')' / '|').
                i += 1
                if let n = peek, n != ")" && n != "|" { throw fail("'$' is only supported at the end") }
                continue
            }
            var atom = try self.atom()
            atom = try quantified(atom)
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func quantified(_ atom: GrammarExpr) throws(GrammarError) -> GrammarExpr {
        guard let q = peek else { return atom }
        var e: GrammarExpr
        switch q {
        case "*": i += 1; e = .star(atom)
        case "+": i += 1; e = .plus(atom)
        case "?": i += 1; e = .optional(atom)
        case "{":
            guard let (lo, hi) = try braces() else { return atom }
            e = .repetition(atom, min: lo, max: hi)
        default: return atom
        }
        if peek == "?" { i += 1 } // lazy: the same language
        if let n = peek, n == "*" || n == "+" || n == "?" { throw fail("multiple repeat") }
        if peek == "{", try lookaheadBraces() { throw fail("multiple repeat") }
        return e
    }

    private mutating func lookaheadBraces() throws(GrammarError) -> Bool {
        let save = i
        defer { i = save }
        return try braces() != nil
    }

    /// `{m}`, `{m,}`, `{,n}` or `{m,n}`; nil (nothing consumed) when the brace is a literal.
    private mutating func braces() throws(GrammarError) -> (Int, Int?)? {
        let save = i
        i += 1
        let lo = number()
        var hi = lo
        let comma = peek == ","
        if comma {
            i += 1
            hi = number()
        }
        guard peek == "}", lo != nil || (comma && hi != nil) else { i = save; return nil }
        i += 1
        let low = lo ?? 0
        if let hi, hi < low { throw fail("min repeat greater than max repeat") }
        if low > 10_000 || (hi ?? 0) > 10_000 { throw fail("repeat count too large") }
        return (low, hi)
    }

    private mutating func number() -> Int? { ScalarReading.number(chars, &i) }

    private mutating func atom() throws(GrammarError) -> GrammarExpr {
        let c = chars[i]
        switch c {
        case "(":
            i += 1
            if peek == "?" {
                i += 1
                switch peek ?? "\0" {
                case ":": i += 1
                case "P" where i + 1 < chars.count && chars[i + 1] == "<":
                    i += 2
                    try skipGroupName()
                case "<" where i + 1 < chars.count && chars[i + 1] != "=" && chars[i + 1] != "!":
                    i += 1
                    try skipGroupName()
                case "=", "!": throw fail("lookahead is not supported")
                case "<": throw fail("lookbehind is not supported")
                case "P": throw fail("named backreferences are not supported")
                default: throw fail("inline flags and other group extensions are not supported")
                }
            }
            let inner = try alternation()
            guard peek == ")" else { throw fail("missing ), unterminated subpattern") }
            i += 1
            return inner
        case ")": throw fail("unbalanced parenthesis")
        case "[":
            i += 1
            return .charClass(try classBody())
        case ".":
            i += 1
            return .charClass(.all)
        case "\\":
            i += 1
            return .charClass(try escape(inClass: false))
        case "*", "+", "?": throw fail("nothing to repeat")
        case "^": throw fail("'^' is only supported at the start")
        case "{":
            if try lookaheadBraces() { throw fail("nothing to repeat") }
            i += 1
            return .literal("{")
        default:
            i += 1
            return .literal(String(c))
        }
    }

    private mutating func skipGroupName() throws(GrammarError) {
        while let c = peek, c != ">" { i += 1 }
        guard peek == ">" else { throw fail("missing >, unterminated name") }
        i += 1
    }

    /// After '['.
    private mutating func classBody() throws(GrammarError) -> CodePointSet {
        var negate = false
        if peek == "^" { negate = true; i += 1 }
        var set = CodePointSet()
        var first = true
        while true {
            guard let c = peek else { throw fail("unterminated character set") }
            if c == "]" && !first { i += 1; break }
            first = false
            var lo: UInt32
            if c == "\\" {
                i += 1
                let e = try escape(inClass: true)
                guard e.ranges.count == 1, e.ranges[0].lowerBound == e.ranges[0].upperBound else {
                    set = set.union(e) // a class escape such as \d: no range from it
                    continue
                }
                lo = e.ranges[0].lowerBound
            } else {
                i += 1
                lo = c.value
            }
            if peek == "-", i + 1 < chars.count, chars[i + 1] != "]" {
                i += 1
                var hi: UInt32
                if chars[i] == "\\" {
                    i += 1
                    let e = try escape(inClass: true)
                    guard e.ranges.count == 1, e.ranges[0].lowerBound == e.ranges[0].upperBound else {
                        throw fail("bad character range")
                    }
                    hi = e.ranges[0].lowerBound
                } else {
                    hi = chars[i].value
                    i += 1
                }
                guard lo <= hi else { throw fail("bad character range") }
                set.insert(lo...hi)
            } else {
                set.insert(lo...lo)
            }
        }
        return negate ? set.complement() : set
    }

    static let digit = CodePointSet([48...57])
    static let word = CodePointSet([48...57, 65...90, 95...95, 97...122])
    static let space = CodePointSet([9...13, 32...32, 0xA0...0xA0])

    /// After '\\': the characters the escape stands for.
    private mutating func escape(inClass: Bool) throws(GrammarError) -> CodePointSet {
        guard let c = peek else { throw fail("bad escape (end of pattern)") }
        i += 1
        func one(_ v: UInt32) -> CodePointSet { CodePointSet([v...v]) }
        switch c {
        case "d": return Self.digit
        case "D": return Self.digit.complement()
        case "w": return Self.word
        case "W": return Self.word.complement()
        case "s": return Self.space
        case "S": return Self.space.complement()
        case "n": return one(10)
        case "t": return one(9)
        case "r": return one(13)
        case "f": return one(12)
        case "v": return one(11)
        case "a": return one(7)
        case "0": return one(0)
        case "b" where inClass: return one(8)
        case "x": return one(try hex(2))
        case "u": return one(try hex(4))
        case "U": return one(try hex(8))
        case "b", "B", "A", "Z", "z", "G": throw fail("anchors and word boundaries (\\\(c)) are not supported")
        case "1"..."9", "k": throw fail("backreferences are not supported")
        default:
            if c.properties.isAlphabetic || c.properties.numericType != nil { throw fail("bad escape \\\(c)") }
            return one(c.value)
        }
    }

    private mutating func hex(_ n: Int) throws(GrammarError) -> UInt32 {
        switch ScalarReading.hexScalar(chars, &i, digits: n) {
        case let .success(v): return v
        case let .failure(e): throw fail(e.message)
        }
    }
}
