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

    /// Split by kind into small functions: unoptimized builds give a function one stack slot
    /// per temporary of every case, and evaluation recurses once per tree level.
    private func evalUnchecked(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        // No payload is bound here: each binding would get its own slot in this frame.
        switch expr.kind {
        case .literal, .name, .attribute, .item, .slice, .negate, .plus, .not: return try evalSimple(expr, scope)
        case .list, .tuple, .dict: return try evalDisplay(expr, scope)
        case .call, .filter, .test: return try evalCallLike(expr, scope)
        case .and, .or, .binary, .compare, .conditional: return try evalOperator(expr, scope)
        }
    }

    private func evalSimple(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch expr.kind {
        case let .literal(l): return l.value
        case let .name(n): return scope.lookup(n) ?? globals[n] ?? .undefined("'\(n)' is undefined")
        case let .attribute(e, name): return try evalAttribute(e, name, scope)
        case let .item(e, key): return try evalItem(e, key, scope)
        case let .slice(e, start, stop, step): return try evalSlice(e, start, stop, step, scope)
        case let .negate(e): return try evalNegate(e, scope)
        case let .plus(e): return try evalPlus(e, scope)
        case let .not(e): return try evalNot(e, scope)
        default: return .none
        }
    }

    private func evalDisplay(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch expr.kind {
        case let .list(items), let .tuple(items): return try evalList(items, scope)
        case let .dict(pairs): return try evalDict(pairs, scope)
        default: return .none
        }
    }

    private func evalCallLike(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch expr.kind {
        case let .call(callee, args): return try evalCall(callee, args, scope)
        case let .filter(e, f): return try evalFilter(e, f, scope)
        case let .test(e, t, negated): return try evalTest(e, t, negated, scope)
        default: return .none
        }
    }

    private func evalOperator(_ expr: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        switch expr.kind {
        case let .and(a, b): return try evalAnd(a, b, scope)
        case let .or(a, b): return try evalOr(a, b, scope)
        case let .binary(op, a, b): return try evalBinary(op, a, b, scope)
        case let .compare(first, ops): return try evalCompare(first, ops, scope)
        case let .conditional(test, then, otherwise): return try evalConditional(expr, test, then, otherwise, scope)
        default: return .none
        }
    }

    private func evalList(_ items: [Expr], _ scope: Scope) throws(TemplateError) -> Value {
        var values: [Value] = []
        values.reserveCapacity(items.count)
        for e in items { values.append(try eval(e, scope)) }
        let list = Value.list(values)
        try Nesting.check(list)
        return list
    }

    private func evalDict(_ pairs: [(Expr, Expr)], _ scope: Scope) throws(TemplateError) -> Value {
        var d = Dict()
        for (k, v) in pairs {
            let key = try eval(k, scope)
            try checkHashable(key)
            d[key] = try eval(v, scope)
        }
        try Nesting.check(.dict(d))
        return .dict(d)
    }

    private func evalAttribute(_ e: Expr, _ name: String, _ scope: Scope) throws(TemplateError) -> Value {
        try Access.attribute(try eval(e, scope), name)
    }

    private func evalItem(_ e: Expr, _ key: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        try Access.item(try eval(e, scope), try eval(key, scope))
    }

    private func evalSlice(_ e: Expr, _ start: Expr?, _ stop: Expr?, _ step: Expr?, _ scope: Scope) throws(TemplateError) -> Value {
        let value = try eval(e, scope)
        return try Access.slice(value, try start.map { e throws(TemplateError) in try eval(e, scope) },
                                try stop.map { e throws(TemplateError) in try eval(e, scope) },
                                try step.map { e throws(TemplateError) in try eval(e, scope) })
    }

    private func evalCall(_ callee: Expr, _ args: [Argument], _ scope: Scope) throws(TemplateError) -> Value {
        try callValue(try eval(callee, scope), try evalArguments(args, scope))
    }

    private func evalFilter(_ e: Expr, _ f: FilterCall, _ scope: Scope) throws(TemplateError) -> Value {
        try applyFilter(f, to: try eval(e, scope), scope)
    }

    private func evalTest(_ e: Expr, _ t: FilterCall, _ negated: Bool, _ scope: Scope) throws(TemplateError) -> Value {
        let result = try applyTest(t, to: e, scope)
        return .bool(negated ? !result : result)
    }

    private func evalNegate(_ e: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        try Operators.negate(try eval(e, scope))
    }

    private func evalPlus(_ e: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        try Operators.plus(try eval(e, scope))
    }

    private func evalNot(_ e: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        .bool(!(try eval(e, scope)).truthy)
    }

    private func evalAnd(_ a: Expr, _ b: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        let left = try eval(a, scope)
        return left.truthy ? try eval(b, scope) : left
    }

    private func evalOr(_ a: Expr, _ b: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        let left = try eval(a, scope)
        return left.truthy ? left : try eval(b, scope)
    }

    private func evalBinary(_ op: BinaryOp, _ a: Expr, _ b: Expr, _ scope: Scope) throws(TemplateError) -> Value {
        try Operators.binary(op, try eval(a, scope), try eval(b, scope), budget)
    }

    /// Chained like Python: `a < b < c` is `a < b and b < c`.
    private func evalCompare(_ first: Expr, _ ops: [(CompareOp, Expr)], _ scope: Scope) throws(TemplateError) -> Value {
        var left = try eval(first, scope)
        for (op, e) in ops {
            let right = try eval(e, scope)
            if !(try Operators.compare(op, left, right)) { return .bool(false) }
            left = right
        }
        return .bool(true)
    }

    private func evalConditional(_ expr: Expr, _ test: Expr, _ then: Expr, _ otherwise: Expr?,
                                 _ scope: Scope) throws(TemplateError) -> Value {
        if try eval(test, scope).truthy { return try eval(then, scope) }
        if let otherwise { return try eval(otherwise, scope) }
        return .undefined("the inline if-expression on line \(expr.line) evaluated to false and no else section was defined.")
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
