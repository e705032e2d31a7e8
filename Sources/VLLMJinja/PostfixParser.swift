/// What may follow a primary expression: `.attr`, `[index or slice]`, call arguments, and the
/// `|filter` and `is test` chains.
extension Parser {
    mutating func postfix(_ start: Expr) throws(TemplateError) -> Expr {
        var node = start
        while true {
            let line = current.line
            if current.isOp(".") {
                advance()
                switch current.kind {
                case let .name(n): node = try make(.attribute(node, n), line: line)
                case let .integer(i): node = try make(.item(node, try make(.literal(.int(i)), line: line)), line: line)
                default: throw fail("expected name or number")
                }
                advance()
            } else if current.isOp("[") {
                advance()
                node = try subscriptExpr(node, line: line)
                try expectOp("]")
            } else if current.isOp("(") {
                node = try call(node)
            } else {
                return node
            }
        }
    }

    /// `x[i]`, `x[a:b:c]` (any part optional).
    private mutating func subscriptExpr(_ node: Expr, line: Int) throws(TemplateError) -> Expr {
        var start: Expr?
        if !current.isOp(":") {
            start = try expression()
            if !current.isOp(":") { return try make(.item(node, start!), line: line) }
        }
        advance()
        let stop = current.isOp("]") || current.isOp(":") ? nil : try expression()
        var step: Expr?
        if skipOp(":") && !current.isOp("]") { step = try expression() }
        return try make(.slice(node, start: start, stop: stop, step: step), line: line)
    }

    mutating func call(_ callee: Expr) throws(TemplateError) -> Expr {
        let line = current.line
        return try make(.call(callee, try callArguments()), line: line)
    }

    private mutating func callArguments() throws(TemplateError) -> [Argument] {
        try expectOp("(")
        var args: [Argument] = []
        while !current.isOp(")") {
            if !args.isEmpty { try expectOp(",") }
            if current.isOp(")") { break }
            if skipOp("*") {
                args.append(.star(try expression()))
            } else if skipOp("**") {
                args.append(.doubleStar(try expression()))
            } else if case let .name(n) = current.kind, peek().isOp("=") {
                advance()
                advance()
                args.append(.keyword(n, try expression()))
            } else {
                args.append(.positional(try expression()))
            }
        }
        advance()
        return args
    }

    /// `|f|g(x)…`; with `inline` (the `{% filter %}` tag) the first name comes without a pipe.
    mutating func filterChain(inline: Bool) throws(TemplateError) -> [FilterCall] {
        var calls: [FilterCall] = []
        var first = inline
        while current.isOp("|") || first {
            if !first { advance() }
            first = false
            let line = current.line
            var name = try expectName()
            while current.isOp(".") { advance(); name += "." + (try expectName()) }
            // jinja2 rejects unknown filters when compiling, even in branches never taken.
            guard Filters.names.contains(name) || conditionalDepth > 0 else { throw .syntax("No filter named '\(name)'.", line) }
            let args = current.isOp("(") ? try callArguments() : []
            calls.append(FilterCall(name: name, args: args, line: line))
        }
        return calls
    }

    mutating func applyFilters(to node: Expr) throws(TemplateError) -> Expr {
        var result = node
        for f in try filterChain(inline: false) { result = try make(.filter(result, f), line: f.line) }
        return result
    }

    mutating func test(_ node: Expr) throws(TemplateError) -> Expr {
        let line = current.line
        advance()
        let negated = skipName("not")
        var name = try expectName()
        while current.isOp(".") { advance(); name += "." + (try expectName()) }
        guard Tests.names.contains(name) || conditionalDepth > 0 else { throw .syntax("No test named '\(name)'.", line) }
        var args: [Argument] = []
        if current.isOp("(") {
            args = try callArguments()
        } else if startsBareTestArgument {
            if current.isName("is") { throw fail("You cannot chain multiple tests with is") }
            args = [.positional(try postfix(try primary()))]
        }
        return try make(.test(node, FilterCall(name: name, args: args, line: line), negated: negated), line: line)
    }

    /// `x is divisibleby 3`: one argument may follow a test name without parentheses.
    private var startsBareTestArgument: Bool {
        switch current.kind {
        case let .name(n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float, .op("["), .op("{"): return true
        default: return false
        }
    }
}
