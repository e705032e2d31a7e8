/// Variables visible at one point of a render. `for`, macros, call blocks and `with` open a new
/// scope; `if` does not, so `{% set %}` inside an `if` is seen after it, as in jinja2.
final class Scope {
    private var vars: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let scope = s {
            if let v = scope.vars[name] { return v }
            s = scope.parent
        }
        return nil
    }

    func set(_ name: String, _ value: Value) { vars[name] = value }
}

/// How a statement list ended: normally, or through `{% break %}`/`{% continue %}`.
enum Flow { case normal, breakLoop, continueLoop }

/// Executes statements, appending output. One instance per render.
final class Interpreter {
    let globals: [String: Value]
    /// What this render may still spend; also guards against runaway recursion (a macro
    /// calling itself) turning into a stack overflow.
    let budget: Budget

    init(globals: [String: Value], budget: Budget) {
        self.globals = globals
        self.budget = budget
    }

    func render(_ stmts: [Stmt], _ scope: Scope) throws(TemplateError) -> String {
        var out = ""
        _ = try exec(stmts, scope, &out)
        return out
    }

    func exec(_ stmts: [Stmt], _ scope: Scope, _ out: inout String) throws(TemplateError) -> Flow {
        do { try budget.enter() } catch { throw stmts.first.map { error.at($0.line) } ?? error }
        defer { budget.leave() }
        for stmt in stmts {
            let flow: Flow
            do {
                try budget.step()
                flow = try exec(stmt, scope, &out)
            } catch {
                throw error.at(stmt.line)
            }
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func exec(_ stmt: Stmt, _ scope: Scope, _ out: inout String) throws(TemplateError) -> Flow {
        switch stmt.kind {
        // Each case in its own function, as in `evalUnchecked`: this frame is on the stack once
        // per open block and macro call.
        case let .text(s): try budget.emit(s, into: &out)
        case let .output(e): try output(e, scope, &out)
        case let .ifElse(branches, otherwise): return try ifElse(branches, otherwise, scope, &out)
        case let .forLoop(target, iterable, filter, recursive, body, otherwise):
            try forLoop(ForLoop(target: target, filter: filter, recursive: recursive, body: body, otherwise: otherwise),
                        iterable, scope, &out)
        case let .set(target, e): try set(target, e, scope)
        case let .setBlock(target, filters, body): try setBlock(target, filters, body, scope)
        case let .macro(name, params, body): scope.set(name, .callable(makeMacro(name: name, params, body: body, scope)))
        case let .callBlock(call, params, body): try callBlock(call, params, body, scope, &out)
        case let .filterBlock(filters, body): try filterBlock(filters, body, scope, &out)
        case let .with(assignments, body): return try with(assignments, body, scope, &out)
        case let .generation(body): return try exec(body, scope, &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    private func output(_ e: Expr, _ scope: Scope, _ out: inout String) throws(TemplateError) {
        try budget.emit(try budget.str(try eval(e, scope)), into: &out)
    }

    private func ifElse(_ branches: [(test: Expr, body: [Stmt])], _ otherwise: [Stmt], _ scope: Scope,
                        _ out: inout String) throws(TemplateError) -> Flow {
        for b in branches where try eval(b.test, scope).truthy {
            return try exec(b.body, scope, &out)
        }
        return try exec(otherwise, scope, &out)
    }

    private func forLoop(_ loop: ForLoop, _ iterable: Expr, _ scope: Scope, _ out: inout String) throws(TemplateError) {
        let items = try Self.iterate(try eval(iterable, scope), budget)
        try run(loop, items: items, depth: 1, scope, &out)
    }

    private func set(_ target: Target, _ e: Expr, _ scope: Scope) throws(TemplateError) {
        try assign(target, try eval(e, scope), scope)
    }

    private func setBlock(_ target: Target, _ filters: [FilterCall], _ body: [Stmt], _ scope: Scope) throws(TemplateError) {
        var value = Value.string(try render(body, Scope(parent: scope)))
        for f in filters { value = try applyFilter(f, to: value, scope) }
        try assign(target, value, scope)
    }

    private func callBlock(_ call: Expr, _ params: Parameters, _ body: [Stmt], _ scope: Scope,
                           _ out: inout String) throws(TemplateError) {
        guard case let .call(callee, args) = call.kind else { return }
        let caller = makeMacro(name: "caller", params, body: body, scope)
        var arguments = try evalArguments(args, scope)
        arguments.keywords.append(("caller", .callable(caller)))
        try budget.emit(try budget.str(try callValue(try eval(callee, scope), arguments)), into: &out)
    }

    private func filterBlock(_ filters: [FilterCall], _ body: [Stmt], _ scope: Scope, _ out: inout String) throws(TemplateError) {
        var value = Value.string(try render(body, Scope(parent: scope)))
        for f in filters { value = try applyFilter(f, to: value, scope) }
        try budget.emit(try budget.str(value), into: &out)
    }

    private func with(_ assignments: [(Target, Expr)], _ body: [Stmt], _ scope: Scope,
                      _ out: inout String) throws(TemplateError) -> Flow {
        let inner = Scope(parent: scope)
        for (target, e) in assignments { try assign(target, try eval(e, scope), inner) }
        return try exec(body, inner, &out)
    }

    /// Stores `value` into a `set`/`for` target, unpacking sequences into tuples of names.
    func assign(_ target: Target, _ value: Value, _ scope: Scope) throws(TemplateError) {
        switch target {
        case let .name(n):
            scope.set(n, value)
        case let .attribute(e, attr):
            guard case let .namespace(ns) = try eval(e, scope) else {
                throw .runtime("cannot assign attribute on non-namespace object")
            }
            // The one place a value can be stored into itself across loop iterations.
            try Nesting.check(value)
            ns.attributes[attr] = value
        case let .tuple(targets):
            let items = try Self.iterate(value, budget)
            if items.count > targets.count { throw .value("too many values to unpack (expected \(targets.count))") }
            if items.count < targets.count { throw .value("not enough values to unpack (expected \(targets.count), got \(items.count))") }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        }
    }

    /// What `for x in value` walks: list items, dict keys, string characters; nothing for
    /// `Undefined`.
    static func iterate(_ value: Value, _ budget: Budget) throws(TemplateError) -> [Value] {
        switch value {
        case .undefined: return []
        case let .list(a): return a
        case let .dict(d): return d.keys
        case let .string(s):
            // A string becomes one value per character: refuse before building the list.
            if s.utf8.count > budget.limits.maxListLength { try budget.checkList(s.unicodeScalars.count) }
            try budget.chargeCopy(s.utf8.count &* 16)
            return s.unicodeScalars.map { .string(String($0)) }
        case let .namespace(ns): return ns.attributes.keys
        default: throw .type("'\(value.typeName)' object is not iterable")
        }
    }

    /// A macro (or a call block's `caller`): a callable that renders `body` in a fresh scope
    /// under the defining one, with parameters, `varargs` and `kwargs` bound.
    private func makeMacro(name: String, _ params: Parameters, body: [Stmt], _ defining: Scope) -> Callable {
        Callable(name: name, isMacro: true) { [unowned self] (args: Arguments, _: Budget) throws(TemplateError) -> Value in
            let scope = Scope(parent: defining)
            for (i, p) in params.names.enumerated() {
                if i < args.positional.count {
                    scope.set(p, args.positional[i])
                } else if let kw = args.keywords.last(where: { $0.0 == p }) {
                    scope.set(p, kw.1)
                } else if let d = params.defaults[i] {
                    scope.set(p, try self.eval(d, scope))
                } else {
                    scope.set(p, .undefined("parameter '\(p)' was not provided"))
                }
            }
            scope.set("varargs", .list(Array(args.positional.dropFirst(params.names.count))))
            var kwargs = Dict()
            for (k, v) in args.keywords where !params.names.contains(k) && k != "caller" { kwargs[k] = v }
            scope.set("kwargs", .dict(kwargs))
            if let caller = args.keywords.last(where: { $0.0 == "caller" }) { scope.set("caller", caller.1) }
            return .string(try self.render(body, scope))
        }
    }
}
