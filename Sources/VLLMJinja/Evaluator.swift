/// Expression evaluation.
extension Interpreter {
    func eval(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        do throws(TemplateError) {
            try budget.step()
            budget.evalDepth += 1
            defer { budget.evalDepth -= 1 }
            if budget.evalDepth > budget.maxEvalDepth {
                throw TemplateError(.limit, "RecursionError: maximum recursion depth exceeded while evaluating an expression")
            }
            return try evalUnchecked(expr, scope)
        } catch {
            throw error.at(expr.line)
        }
    }

    private func evalUnchecked(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch expr.kind {
        case let .literal(l):
            return l.value
        case let .name(n):
            return scope.lookup(n) ?? globals[n] ?? .undefined("'\(n)' is undefined")
        case let .list(items), let .tuple(items):
            var values: [Value] = []
            values.reserveCapacity(items.count)
            for e in items { values.append(try eval(e, scope)) }
            let list = Value.list(values)
            try Nesting.check(list)
            return list
        case let .dict(pairs):
            var d = Dict()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                try checkHashable(key)
                d[key] = try eval(v, scope)
            }
            try Nesting.check(.dict(d))
            return .dict(d)
        case let .attribute(e, name):
            return try Access.attribute(try eval(e, scope), name)
        case let .item(e, key):
            return try Access.item(try eval(e, scope), try eval(key, scope))
        case let .slice(e, start, stop, step):
            let value = try eval(e, scope)
            return try Access.slice(value, try start.map { e throws(TemplateError) in try eval(e, scope) },
                                    try stop.map { e throws(TemplateError) in try eval(e, scope) },
                                    try step.map { e throws(TemplateError) in try eval(e, scope) })
        case let .call(callee, args):
            return try callValue(try eval(callee, scope), try evalArguments(args, scope))
        case let .filter(e, f):
            return try applyFilter(f, to: try eval(e, scope), scope)
        case let .test(e, t, negated):
            let result = try applyTest(t, to: e, scope)
            return .bool(negated ? !result : result)
        case let .negate(e):
            return try Operators.negate(try eval(e, scope))
        case let .plus(e):
            return try Operators.plus(try eval(e, scope))
        case let .not(e):
            return .bool(!(try eval(e, scope)).truthy)
        case let .and(a, b):
            let left = try eval(a, scope)
            return left.truthy ? try eval(b, scope) : left
        case let .or(a, b):
            let left = try eval(a, scope)
            return left.truthy ? left : try eval(b, scope)
        case let .binary(op, a, b):
            return try Operators.binary(op, try eval(a, scope), try eval(b, scope), budget)
        case let .compare(first, ops):
            // Chained like Python: `a < b < c` is `a < b and b < c`.
            var left = try eval(first, scope)
            for (op, e) in ops {
                let right = try eval(e, scope)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .conditional(test, then, otherwise):
            if try eval(test, scope).truthy { return try eval(then, scope) }
            if let otherwise { return try eval(otherwise, scope) }
            return .undefined("the inline if-expression on line \(expr.line) evaluated to false and no else section was defined.")
        }
    }

    private func checkHashable(_ key: Value) throws(TemplateError) {
        switch key {
        case .list, .dict, .namespace: throw .type("unhashable type: '\(key.typeName)'")
        case .undefined: throw key.undefinedError
        default: return
        }
    }

    func evalArguments(_ args: [Argument], _ scope: Scope) throws(TemplateError) -> Arguments {
        var out = Arguments()
        for a in args {
            switch a {
            case let .positional(e): out.positional.append(try eval(e, scope))
            case let .keyword(k, e): out.keywords.append((k, try eval(e, scope)))
            case let .star(e): out.positional += try Self.iterate(try eval(e, scope), budget)
            case let .doubleStar(e):
                guard case let .dict(d) = try eval(e, scope) else { throw .type("argument after ** must be a mapping") }
                for (k, v) in zip(d.keys, d.values) {
                    guard case let .string(name) = k else { throw .type("keywords must be strings") }
                    out.keywords.append((name, v))
                }
            }
        }
        return out
    }

    func callValue(_ callee: Value, _ args: Arguments) throws(TemplateError) -> Value {
        switch callee {
        case let .callable(c): return try budget.produced(try c.call(args, budget))
        case let .object(o):
            if let call = o.call { return try budget.produced(try call(args)) }
        case .undefined: throw callee.undefinedError
        default: break
        }
        throw .type("'\(callee.typeName)' object is not callable")
    }

    func applyFilter(_ f: FilterCall, to value: Value, _ scope: Scope) throws(TemplateError) -> Value {
        do {
            return try budget.produced(try Filters.apply(f.name, value, try evalArguments(f.args, scope), self))
        } catch {
            throw error.at(f.line)
        }
    }

    /// `defined`/`undefined` look at the expression without failing on it; the other tests
    /// evaluate it first.
    private func applyTest(_ t: FilterCall, to e: Expr, _ scope: Scope) throws(TemplateError) -> Bool {
        let value = try eval(e, scope)
        do {
            return try Tests.apply(t.name, value, try evalArguments(t.args, scope), self)
        } catch {
            throw error.at(t.line)
        }
    }
}
