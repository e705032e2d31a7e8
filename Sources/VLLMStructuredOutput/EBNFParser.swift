/// Grammar text to a `Grammar`, in the two dialects vLLM accepts for `grammar` constraints:
///
/// - EBNF as llama.cpp's GBNF and xgrammar write it (`root ::= "a" item* | [0-9]+`): rules
///   `name ::= …`, string literals with `\n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH` escapes, character
///   classes `[a-z]` / `[^"\\]`, `.` for any character, grouping, `* + ? {m} {m,} {m,n}`, `#`
///   comments; the start rule is `root`.
/// - Lark, which vLLM recognises by the absence of `::=` (`start: item+`, `?item: "a" | 'b'`,
///   `NUMBER: /[0-9]+/`): rules `name: …` with continuation lines starting with `|`, single- or
///   double-quoted literals, `/regex/` terminals, `[optional]` items; the start rule is `start`,
///   else the first rule.
///
/// A rule ends where the next `name ::=` (or `name:`) begins, so rules may span lines freely.
struct EBNFParser {
    enum Dialect { case ebnf, lark }

    private let text: [Unicode.Scalar]
    private var i = 0
    private var line = 1
    private let dialect: Dialect
    private var grammar = Grammar()
    private var ruleIndex: [String: Int] = [:]
    private var defined: Set<String> = []
    /// Where each referenced rule was first used, for the error about an undefined one.
    private var firstUse: [String: Int] = [:]

    /// Lark unless some line defines a rule with `::=` (vLLM's test).
    static func dialect(of text: String) -> Dialect {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = Substring(raw)
            if let h = l.firstIndex(of: "#") { l = l[..<h] }
            if let s = l.firstRange(of: "//") { l = l[..<s.lowerBound] }
            if l.contains("::=") { return .ebnf }
        }
        return .lark
    }

    static func parse(_ text: String) throws(GrammarError) -> Grammar {
        guard !text.allSatisfy(\.isWhitespace) else { throw GrammarError("invalid grammar: the grammar is empty") }
        var p = EBNFParser(text, dialect(of: text))
        return try p.run()
    }

    private init(_ text: String, _ dialect: Dialect) {
        self.text = Array(text.unicodeScalars)
        self.dialect = dialect
    }

    private func fail(_ what: String) -> GrammarError {
        GrammarError("invalid grammar: \(what) (line \(line))")
    }

    private var peek: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private mutating func run() throws(GrammarError) -> Grammar {
        var order: [String] = []
        skipSpace()
        while i < text.count {
            if dialect == .lark && peek == "%" { throw fail("Lark directives such as %import and %ignore are not supported") }
            let name = try ruleDefinitionStart()
            guard defined.insert(name).inserted else { throw fail("rule '\(name)' is defined more than once") }
            order.append(name)
            let body = try alternatives()
            let r = rule(name)
            grammar.setBody(r, body)
            skipSpace()
        }
        let rootName: String
        switch dialect {
        case .ebnf:
            guard defined.contains("root") else { throw GrammarError("invalid grammar: there is no rule named 'root'") }
            rootName = "root"
        case .lark:
            guard let first = order.first else { throw GrammarError("invalid grammar: no rules found") }
            rootName = defined.contains("start") ? "start" : first
        }
        for (name, at) in firstUse.sorted(by: { $0.value < $1.value }) where !defined.contains(name) {
            throw GrammarError("invalid grammar: rule '\(name)' is used (line \(at)) but not defined")
        }
        let root = rule(rootName)
        grammar.root = root
        return grammar
    }

    private mutating func rule(_ name: String) -> Int {
        if let r = ruleIndex[name] { return r }
        let r = grammar.addRule(name)
        ruleIndex[name] = r
        return r
    }

    /// `name ::=` (EBNF) or `[?]name[.priority]:` (Lark); returns the name.
    private mutating func ruleDefinitionStart() throws(GrammarError) -> String {
        if dialect == .lark && peek == "?" { i += 1 }
        guard let name = identifier() else { throw fail("expected a rule name, found \(describePeek())") }
        skipInlineSpace()
        switch dialect {
        case .ebnf:
            guard consume("::=") else { throw fail("expected '::=' after rule name '\(name)'") }
        case .lark:
            if peek == "." { i += 1; _ = identifier() } // priority
            guard consume(":") else { throw fail("expected ':' after rule name '\(name)'") }
        }
        return name
    }

    /// Whether a rule definition starts here (so the current rule has ended).
    private func atDefinitionStart() -> Bool {
        var p = self
        if p.dialect == .lark && p.peek == "?" { p.i += 1 }
        guard p.identifier() != nil else { return false }
        p.skipInlineSpace()
        switch dialect {
        case .ebnf: return p.consume("::=")
        case .lark:
            if p.peek == "." { p.i += 1; _ = p.identifier() }
            return p.consume(":")
        }
    }

    private mutating func alternatives() throws(GrammarError) -> GrammarExpr {
        var options = [try sequence()]
        while true {
            skipSpace()
            guard peek == "|" else { break }
            i += 1
            options.append(try sequence())
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    private mutating func sequence() throws(GrammarError) -> GrammarExpr {
        var items: [GrammarExpr] = []
        while true {
            skipSpace()
            guard let c = peek, c != "|", c != ")", !(c == "]" && dialect == .lark) else { break }
            if (isNameChar(c) || (c == "?" && dialect == .lark)) && atDefinitionStart() { break }
            if c == "(" && i + 1 < text.count && text[i + 1] == "=" {
                throw fail("lookahead assertions '(= …)' are not supported")
            }
            var e = try primary()
            e = try postfix(e)
            items.append(e)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func primary() throws(GrammarError) -> GrammarExpr {
        let c = peek!
        switch c {
        case "\"": i += 1; return try stringLiteral(quote: "\"")
        case "'" where dialect == .lark: i += 1; return try stringLiteral(quote: "'")
        case "[" where dialect == .lark:
            // Lark's [item] is an optional item.
            i += 1
            let inner = try alternatives()
            skipSpace()
            guard peek == "]" else { throw fail("expected ']', found \(describePeek())") }
            i += 1
            return .optional(inner)
        case "[": i += 1; return .charClass(try charClass())
        case "(":
            i += 1
            let inner = try alternatives()
            skipSpace()
            guard peek == ")" else { throw fail("expected ')', found \(describePeek())") }
            i += 1
            return inner
        case ".": i += 1; return .charClass(.all)
        case "/" where dialect == .lark: i += 1; return try larkRegex()
        default:
            guard let name = identifier() else { throw fail("unexpected \(describePeek())") }
            if firstUse[name] == nil { firstUse[name] = line }
            return .rule(rule(name))
        }
    }

    private mutating func postfix(_ e: GrammarExpr) throws(GrammarError) -> GrammarExpr {
        var e = e
        while let c = peek {
            switch c {
            case "*": i += 1; e = .star(e)
            case "+": i += 1; e = .plus(e)
            case "?": i += 1; e = .optional(e)
            case "{":
                i += 1
                skipInlineSpace()
                let lo = number() ?? 0
                skipInlineSpace()
                var hi: Int? = lo
                if consume(",") {
                    skipInlineSpace()
                    hi = number()
                    skipInlineSpace()
                }
                guard consume("}") else { throw fail("expected '}' to close a repetition") }
                if let h = hi, h < lo { throw fail("repetition {\(lo),\(h)} has its maximum below its minimum") }
                if lo > 10_000 || (hi ?? 0) > 10_000 { throw fail("repetition count too large") }
                e = .repetition(e, min: lo, max: hi)
            default: return e
            }
        }
        return e
    }

    private mutating func stringLiteral(quote: Unicode.Scalar) throws(GrammarError) -> GrammarExpr {
        var out: [UInt8] = []
        while true {
            guard let c = peek, c != "\n" else { throw fail("unterminated string literal") }
            i += 1
            if c == quote { break }
            var v = c.value
            if c == "\\" { v = try escape() }
            out += CodePointSet.encodeUTF8(v)
        }
        return .bytes(out)
    }

    /// After '['.
    private mutating func charClass() throws(GrammarError) -> CodePointSet {
        var negate = false
        if peek == "^" { negate = true; i += 1 }
        var set = CodePointSet()
        while true {
            guard let c = peek, c != "\n" else { throw fail("unterminated character class") }
            i += 1
            if c == "]" { break }
            var lo = c.value
            if c == "\\" { lo = try escape() }
            if peek == "-", i + 1 < text.count, text[i + 1] != "]" {
                i += 1
                let h = text[i]
                i += 1
                var hi = h.value
                if h == "\\" { hi = try escape() }
                guard lo <= hi else { throw fail("character range is out of order") }
                set.insert(lo...hi)
            } else {
                set.insert(lo...lo)
            }
        }
        return negate ? set.complement() : set
    }

    /// After a backslash: the code point it stands for.
    private mutating func escape() throws(GrammarError) -> UInt32 {
        guard let c = peek else { throw fail("unterminated escape") }
        i += 1
        switch c {
        case "n": return 10
        case "t": return 9
        case "r": return 13
        case "f": return 12
        case "v": return 11
        case "0": return 0
        case "x": return try hex(2)
        case "u": return try hex(4)
        case "U": return try hex(8)
        default:
            if c.properties.isAlphabetic || (c.value >= 48 && c.value <= 57) { throw fail("unknown escape \\\(c)") }
            return c.value
        }
    }

    private mutating func hex(_ n: Int) throws(GrammarError) -> UInt32 {
        switch ScalarReading.hexScalar(text, &i, digits: n) {
        case let .success(v): return v
        case let .failure(e): throw fail(e.message)
        }
    }

    /// After '/': a Lark regex terminal up to the closing '/', flags refused.
    private mutating func larkRegex() throws(GrammarError) -> GrammarExpr {
        var pattern = ""
        while true {
            guard let c = peek, c != "\n" else { throw fail("unterminated regex terminal") }
            i += 1
            if c == "/" { break }
            pattern.unicodeScalars.append(c)
            if c == "\\", let n = peek { pattern.unicodeScalars.append(n); i += 1 }
        }
        if let f = peek, f.properties.isAlphabetic, !atDefinitionStart() {
            throw fail("regex flags ('/…/\(f)') are not supported")
        }
        return try RegexConverter.convert(pattern)
    }

    private mutating func number() -> Int? { ScalarReading.number(text, &i) }

    private func isNameChar(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 48 && c.value <= 57) || (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122)
            || c == "_" || c == "-" || (c == "." && dialect == .ebnf)
    }

    private mutating func identifier() -> String? {
        var s = ""
        while let c = peek, isNameChar(c), !(s.isEmpty && c == ".") {
            s.unicodeScalars.append(c)
            i += 1
        }
        return s.isEmpty ? nil : s
    }

    private mutating func consume(_ s: String) -> Bool {
        let u = Array(s.unicodeScalars)
        guard i + u.count <= text.count, Array(text[i..<i + u.count]) == u else { return false }
        i += u.count
        return true
    }

    private mutating func skipInlineSpace() {
        while let c = peek, c == " " || c == "\t" { i += 1 }
    }

    /// Spaces, newlines and comments (`#`, and `//` in Lark).
    private mutating func skipSpace() {
        while let c = peek {
            if c == "\n" { line += 1; i += 1 }
            else if c == " " || c == "\t" || c == "\r" { i += 1 }
            else if c == "#" || (dialect == .lark && c == "/" && i + 1 < text.count && text[i + 1] == "/") {
                while let d = peek, d != "\n" { i += 1 }
            } else { break }
        }
    }

    private func describePeek() -> String {
        guard let c = peek else { return "the end of the grammar" }
        return "'\(Character(c))'"
    }
}
