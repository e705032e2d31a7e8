/// One lexical token of a template, with the line it starts on.
struct Token: Equatable {
    enum Kind: Equatable {
        /// Literal template text between tags, after whitespace control.
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// An operator or punctuation: `+`, `//`, `==`, `(`, `|`, `.` …
        case op(String)
        case end
    }

    let kind: Kind
    let line: Int

    /// How jinja2 names the token in "unexpected …" messages.
    var describe: String {
        switch kind {
        case let .text(s): return "template data '\(s.prefix(20))'"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case let .name(n): return "'\(n)'"
        case let .string(s): return "string " + PythonString.repr(s)
        case let .integer(i): return "integer \(i)"
        case let .float(d): return "float \(PythonFloat.repr(d))"
        case let .op(o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    func isName(_ n: String) -> Bool { if case let .name(m) = kind { return m == n }; return false }
    func isOp(_ o: String) -> Bool { if case let .op(p) = kind { return p == o }; return false }
}
