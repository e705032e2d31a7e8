/// jinja2's expression grammar, loosest binding first: conditional, `or`, `and`, `not`,
/// comparisons, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then primaries with postfix
/// access, calls, filters and tests.
extension Parser {
    /// An expression, or a tuple if commas follow (`{{ a, b }}`, `set a, b = 1, 2`).
    mutating func tuple(condexpr: Bool = true, endNames: Set<String> = [], parenthesized: Bool = false) throws(TemplateError) -> Expr {
        try nest()
        defer { nesting -= 1 }
        let line = current.line
        var items: [Expr] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                sawComma = true
            }
            if isTupleEnd(endNames) { break }
            items.append(condexpr ? try expression() : try or())
            if !current.isOp(",") { break }
        }
        if !sawComma && items.count == 1 { return items[0] }
        if items.isEmpty && !parenthesized { throw fail("Expected an expression, got \(current.describe)") }
        return try make(.tuple(items), line: line)
    }

    private func isTupleEnd(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: return true
        case .op(")"): return true
        case let .name(n): return endNames.contains(n)
        default: return false
        }
    }

    mutating func expression() throws(TemplateError) -> Expr {
        try nest()
        defer { nesting -= 1 }
        var expr = try or()
        while current.isName("if") {
            let line = current.line
            advance()
            let test = try or()
            let otherwise = skipName("else") ? try expression() : nil
            expr = try make(.conditional(test: test, then: expr, otherwise: otherwise), line: line)
        }
        return expr
    }

    private mutating func or() throws(TemplateError) -> Expr {
        var left = try and()
        while current.isName("or") {
            let line = current.line
            advance()
            left = try make(.or(left, try and()), line: line)
        }
        return left
    }

    private mutating func and() throws(TemplateError) -> Expr {
        var left = try not()
        while current.isName("and") {
            let line = current.line
            advance()
            left = try make(.and(left, try not()), line: line)
        }
        return left
    }

    private mutating func not() throws(TemplateError) -> Expr {
        if current.isName("not") {
            let line = current.line
            advance()
            try nest()
            defer { nesting -= 1 }
            return try make(.not(try not()), line: line)
        }
        return try compare()
    }

    private mutating func compare() throws(TemplateError) -> Expr {
        let line = current.line
        let first = try additive()
        var ops: [(CompareOp, Expr)] = []
        while true {
            if case let .op(o) = current.kind, let op = CompareOp(rawValue: o), op != .in, op != .notIn {
                advance()
                ops.append((op, try additive()))
            } else if current.isName("in") {
                advance()
                ops.append((.in, try additive()))
            } else if current.isName("not") && peek().isName("in") {
                advance()
                advance()
                ops.append((.notIn, try additive()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : try make(.compare(first, ops), line: line)
    }

    private mutating func additive() throws(TemplateError) -> Expr {
        var left = try concat()
        while current.isOp("+") || current.isOp("-") {
            let op: BinaryOp = current.isOp("+") ? .add : .sub
            let line = current.line
            advance()
            left = try make(.binary(op, left, try concat()), line: line)
        }
        return left
    }

    private mutating func concat() throws(TemplateError) -> Expr {
        var left = try multiplicative()
        while current.isOp("~") {
            let line = current.line
            advance()
            left = try make(.binary(.concat, left, try multiplicative()), line: line)
        }
        return left
    }

    private mutating func multiplicative() throws(TemplateError) -> Expr {
        var left = try power()
        while case let .op(o) = current.kind, let op = BinaryOp(rawValue: o), [.mul, .div, .floorDiv, .mod].contains(op) {
            let line = current.line
            advance()
            left = try make(.binary(op, left, try power()), line: line)
        }
        return left
    }

    /// jinja2 folds `**` to the left (`2**3**2` is 64), unlike Python.
    private mutating func power() throws(TemplateError) -> Expr {
        var left = try unary()
        while current.isOp("**") {
            let line = current.line
            advance()
            left = try make(.binary(.pow, left, try unary()), line: line)
        }
        return left
    }

    /// `-x|abs` is `abs(-x)`: the sign binds tighter than filters, as in jinja2.
    private mutating func unary(withFilters: Bool = true) throws(TemplateError) -> Expr {
        let line = current.line
        var node: Expr
        if current.isOp("-") || current.isOp("+") {
            // `- - - … x` recurses once per sign before any node exists.
            let negate = current.isOp("-")
            advance()
            try nest()
            let operand = try unary(withFilters: false)
            nesting -= 1
            node = try make(negate ? .negate(operand) : .plus(operand), line: line)
        } else {
            node = try primary()
        }
        node = try postfix(node)
        if !withFilters { return node }
        while true {
            if current.isOp("|") {
                node = try applyFilters(to: node)
            } else if current.isName("is") {
                node = try test(node)
            } else if current.isOp("(") {
                node = try call(node)
            } else {
                return node
            }
        }
    }

    mutating func primary() throws(TemplateError) -> Expr {
        let token = current
        let line = token.line
        switch token.kind {
        case let .name(n):
            advance()
            switch n {
            case "true", "True": return try make(.literal(.bool(true)), line: line)
            case "false", "False": return try make(.literal(.bool(false)), line: line)
            case "none", "None": return try make(.literal(.none), line: line)
            default: return try make(.name(n), line: line)
            }
        case var .string(s):
            advance()
            // Adjacent literals concatenate, as in Python.
            while case let .string(more) = current.kind { s += more; advance() }
            return try make(.literal(.string(s)), line: line)
        case let .integer(i):
            advance()
            return try make(.literal(.int(i)), line: line)
        case let .float(d):
            advance()
            return try make(.literal(.float(d)), line: line)
        case .op("("):
            advance()
            let e = try tuple(parenthesized: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !current.isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if current.isOp("]") { break }
                items.append(try expression())
            }
            advance()
            return try make(.list(items), line: line)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !current.isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if current.isOp("}") { break }
                let key = try expression()
                try expectOp(":")
                pairs.append((key, try expression()))
            }
            advance()
            return try make(.dict(pairs), line: line)
        default:
            throw fail("unexpected \(token.describe)")
        }
    }
}
