/// Builds the statement tree from tokens, following jinja2's grammar for the tags chat templates
/// use. Expressions are parsed in `ExpressionParser.swift`.
struct Parser {
    var tokens: [Token]
    var index = 0
    /// `break`/`continue` are only legal inside a loop body (not inside a macro in that body).
    private var loopDepth = 0
    /// jinja2 reports an unknown filter or test when compiling, except inside an `if` body,
    /// where it fails only if that code runs.
    var conditionalDepth = 0
    /// How deeply the grammar is nested right now (brackets, blocks, unary operators…). Every
    /// level is a few frames of recursion here and when rendering, so it is capped; jinja2
    /// itself runs out of Python stack before 100 levels of brackets.
    var nesting = 0
    static let maxNesting = 200

    static func parse(_ source: String) throws(TemplateError) -> [Stmt] {
        var p = Parser(tokens: try Lexer.tokenize(source))
        let (body, _) = try p.body(until: [])
        return body
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    var current: Token { tokens[index] }
    func peek(_ n: Int = 1) -> Token { tokens[min(index + n, tokens.count - 1)] }
    mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    /// Enters one level of nesting; `nesting -= 1` must follow.
    mutating func nest() throws(TemplateError) {
        nesting += 1
        if nesting > Self.maxNesting { throw fail("too deeply nested (more than \(Self.maxNesting) levels)") }
    }

    /// A new expression node, refused when the tree would get deeper than `maxNesting`
    /// (`1+1+…+1` nests without brackets).
    func make(_ kind: Expr.Kind, line: Int) throws(TemplateError) -> Expr {
        let e = Expr(kind, line: line)
        if e.depth > Self.maxNesting { throw .syntax("too deeply nested (more than \(Self.maxNesting) levels)", line) }
        return e
    }

    func fail(_ message: String, _ token: Token? = nil) -> TemplateError {
        .syntax(message, (token ?? current).line)
    }

    mutating func expectOp(_ o: String) throws(TemplateError) {
        guard current.isOp(o) else { throw fail("expected token '\(o)', got \(current.describe)") }
        advance()
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case let .name(n) = current.kind else { throw fail("expected token 'name', got \(current.describe)") }
        advance()
        return n
    }

    mutating func skipOp(_ o: String) -> Bool {
        if current.isOp(o) { advance(); return true }
        return false
    }

    mutating func skipName(_ n: String) -> Bool {
        if current.isName(n) { advance(); return true }
        return false
    }

    mutating func expectBlockEnd() throws(TemplateError) {
        guard current.kind == .blockEnd else { throw fail("expected token 'end of statement block', got \(current.describe)") }
        advance()
    }

    /// Statements up to a `{% tag %}` whose name is in `endTags`; returns them and that name,
    /// leaving the rest of the closing tag (e.g. an `elif` condition) unread.
    mutating func body(until endTags: Set<String>) throws(TemplateError) -> ([Stmt], String) {
        try nest()
        defer { nesting -= 1 }
        var out: [Stmt] = []
        while true {
            let token = current
            switch token.kind {
            case let .text(s):
                out.append(Stmt(.text(s), line: token.line))
                advance()
            case .variableBegin:
                advance()
                let e = try tuple()
                guard current.kind == .variableEnd else { throw fail("expected token 'end of print statement', got \(current.describe)") }
                advance()
                out.append(Stmt(.output(e), line: token.line))
            case .blockBegin:
                advance()
                guard case let .name(tag) = current.kind else { throw fail("tag name expected") }
                if endTags.contains(tag) {
                    advance()
                    return (out, tag)
                }
                out.append(try statement())
            case .end:
                if endTags.isEmpty { return (out, "") }
                let wanted = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw fail("Unexpected end of template. Jinja was looking for the following tags: \(wanted).")
            default:
                throw fail("unexpected \(token.describe)")
            }
        }
    }

    private mutating func statement() throws(TemplateError) -> Stmt {
        let token = current
        guard case let .name(tag) = token.kind else { throw fail("tag name expected") }
        advance()
        let line = token.line
        switch tag {
        case "if": return try ifStatement(line)
        case "for": return try forStatement(line)
        case "set": return try setStatement(line)
        case "macro": return try macroStatement(line)
        case "call": return try callStatement(line)
        case "filter":
            let filters = try filterChain(inline: true)
            try expectBlockEnd()
            let (body, _) = try self.body(until: ["endfilter"])
            try expectBlockEnd()
            return Stmt(.filterBlock(filters, body: body), line: line)
        case "with": return try withStatement(line)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try self.body(until: ["endgeneration"])
            try expectBlockEnd()
            return Stmt(.generation(body), line: line)
        case "break", "continue":
            guard loopDepth > 0 else { throw .syntax("'\(tag)' outside loop", line) }
            try expectBlockEnd()
            return Stmt(tag == "break" ? .breakLoop : .continueLoop, line: line)
        default:
            throw .syntax("Encountered unknown tag '\(tag)'.", line)
        }
    }

    private mutating func ifStatement(_ line: Int) throws(TemplateError) -> Stmt {
        var branches: [(test: Expr, body: [Stmt])] = []
        var test = try tuple(condexpr: false)
        conditionalDepth += 1
        defer { conditionalDepth -= 1 }
        while true {
            try expectBlockEnd()
            let (body, tag) = try self.body(until: ["elif", "else", "endif"])
            branches.append((test, body))
            switch tag {
            case "elif":
                test = try tuple(condexpr: false)
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try self.body(until: ["endif"])
                try expectBlockEnd()
                return Stmt(.ifElse(branches, otherwise: otherwise), line: line)
            default:
                try expectBlockEnd()
                return Stmt(.ifElse(branches, otherwise: []), line: line)
            }
        }
    }

    private mutating func forStatement(_ line: Int) throws(TemplateError) -> Stmt {
        let target = try assignTarget(namespace: false)
        guard skipName("in") else { throw fail("expected token 'in', got \(current.describe)") }
        let iterable = try tuple(condexpr: false, endNames: ["recursive", "if"])
        let filter = skipName("if") ? try expression() : nil
        let recursive = skipName("recursive")
        try expectBlockEnd()
        loopDepth += 1
        let (body, tag) = try self.body(until: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Stmt] = []
        if tag == "else" {
            try expectBlockEnd()
            (otherwise, _) = try self.body(until: ["endfor"])
        }
        try expectBlockEnd()
        return Stmt(.forLoop(target: target, iterable: iterable, filter: filter, recursive: recursive,
                             body: body, otherwise: otherwise), line: line)
    }

    private mutating func setStatement(_ line: Int) throws(TemplateError) -> Stmt {
        let target = try assignTarget(namespace: true)
        if skipOp("=") {
            let value = try tuple()
            try expectBlockEnd()
            return Stmt(.set(target, value), line: line)
        }
        let filters = current.isOp("|") ? try filterChain(inline: false) : []
        try expectBlockEnd()
        let (body, _) = try self.body(until: ["endset"])
        try expectBlockEnd()
        return Stmt(.setBlock(target, filters: filters, body: body), line: line)
    }

    private mutating func macroStatement(_ line: Int) throws(TemplateError) -> Stmt {
        let name = try expectName()
        let params = try parameters()
        try expectBlockEnd()
        let saved = loopDepth
        loopDepth = 0
        let (body, _) = try self.body(until: ["endmacro"])
        loopDepth = saved
        try expectBlockEnd()
        return Stmt(.macro(name: name, params, body: body), line: line)
    }

    private mutating func callStatement(_ line: Int) throws(TemplateError) -> Stmt {
        let params = current.isOp("(") ? try parameters() : Parameters()
        let call = try expression()
        guard case .call = call.kind else { throw .syntax("expected call", line) }
        try expectBlockEnd()
        let saved = loopDepth
        loopDepth = 0
        let (body, _) = try self.body(until: ["endcall"])
        loopDepth = saved
        try expectBlockEnd()
        return Stmt(.callBlock(call: call, params, body: body), line: line)
    }

    private mutating func withStatement(_ line: Int) throws(TemplateError) -> Stmt {
        var assignments: [(Target, Expr)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try assignTarget(namespace: false)
            try expectOp("=")
            assignments.append((target, try expression()))
        }
        try expectBlockEnd()
        let (body, _) = try self.body(until: ["endwith"])
        try expectBlockEnd()
        return Stmt(.with(assignments, body: body), line: line)
    }

    /// `(a, b=default, …)` of a macro or call block.
    private mutating func parameters() throws(TemplateError) -> Parameters {
        var params = Parameters()
        try expectOp("(")
        while !current.isOp(")") {
            if !params.names.isEmpty { try expectOp(",") }
            if current.isOp(")") { break }
            let name = try expectName()
            let defaultValue = skipOp("=") ? try expression() : nil
            if defaultValue == nil, params.defaults.contains(where: { $0 != nil }) {
                throw fail("non-default argument follows default argument")
            }
            params.names.append(name)
            params.defaults.append(defaultValue)
        }
        advance()
        return params
    }

    /// A `for`/`set` target: `x`, `a, b`, `(a, b)`, or (for `set`) `ns.attr`.
    private mutating func assignTarget(namespace: Bool) throws(TemplateError) -> Target {
        if namespace, case let .name(ns) = current.kind, peek().isOp(".") {
            let line = current.line
            advance()
            advance()
            let attr = try expectName()
            return .attribute(Expr(.name(ns), line: line), attr)
        }
        var targets: [Target] = []
        repeat {
            if current.isOp("(") {
                advance()
                try nest()
                defer { nesting -= 1 }
                targets.append(try assignTarget(namespace: false))
                try expectOp(")")
            } else {
                guard case let .name(n) = current.kind else { throw fail("can't assign to \(current.describe)") }
                if ["true", "false", "none", "True", "False", "None"].contains(n) { throw fail("Can't assign to constant '\(n)'") }
                advance()
                targets.append(.name(n))
            }
        } while skipOp(",") && !current.isName("in") && !current.isOp("=")
        return targets.count == 1 && !tokens[index - 1].isOp(",") ? targets[0] : .tuple(targets)
    }
}
