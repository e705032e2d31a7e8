/// A `{% for %}` statement's parts, kept together so recursive loops can re-run the body.
struct ForLoop {
    let target: Target
    let filter: Expr?
    let recursive: Bool
    let body: [Stmt]
    let otherwise: [Stmt]
}

extension Interpreter {
    /// Runs the loop over `items`. Each iteration gets a fresh scope under the enclosing one: as
    /// in jinja2, a `set` in the body is seen neither by the next iteration nor after the loop.
    func run(_ loop: ForLoop, items: [Value], depth: Int, _ scope: Scope, _ out: inout String) throws(TemplateError) {
        var selected = items
        if let filter = loop.filter {
            // `for x in xs if cond`: loop.index, length etc. count only the items kept.
            selected = []
            for item in items {
                let probe = Scope(parent: scope)
                try assign(loop.target, item, probe)
                if try eval(filter, probe).truthy { selected.append(item) }
            }
        }
        if selected.isEmpty {
            _ = try exec(loop.otherwise, Scope(parent: scope), &out)
            return
        }
        let changed = ChangedState()
        for (i, item) in selected.enumerated() {
            try budget.step()
            let inner = Scope(parent: scope)
            try assign(loop.target, item, inner)
            inner.set("loop", .object(loopObject(i, selected, depth, loop, scope, changed)))
            if try exec(loop.body, inner, &out) == .breakLoop { break }
        }
    }

    private func loopObject(_ i: Int, _ items: [Value], _ depth: Int, _ loop: ForLoop, _ scope: Scope,
                            _ changed: ChangedState) -> Object {
        let n = items.count
        var recurse: ((Arguments) throws(TemplateError) -> Value)?
        if loop.recursive {
            recurse = { [unowned self] (args: Arguments) throws(TemplateError) -> Value in
                guard args.positional.count == 1 else { throw .type("loop() takes exactly one argument") }
                var text = ""
                try self.run(loop, items: try Self.iterate(args.positional[0], self.budget), depth: depth + 1, scope, &text)
                return .string(text)
            }
        }
        return Object(typeName: "LoopContext", captured: .list(items), call: recurse) { (name: String) throws(TemplateError) -> Value? in
            switch name {
            case "index": return .int(i + 1)
            case "index0": return .int(i)
            case "revindex": return .int(n - i)
            case "revindex0": return .int(n - i - 1)
            case "first": return .bool(i == 0)
            case "last": return .bool(i == n - 1)
            case "length": return .int(n)
            case "depth": return .int(depth)
            case "depth0": return .int(depth - 1)
            case "previtem": return i > 0 ? items[i - 1] : .undefined("there is no previous item")
            case "nextitem": return i + 1 < n ? items[i + 1] : .undefined("there is no next item")
            case "cycle":
                return .callable(Callable(name: "cycle") { (args: Arguments) throws(TemplateError) -> Value in
                    guard !args.positional.isEmpty else { throw .type("no items for cycling given") }
                    return args.positional[i % args.positional.count]
                })
            case "changed":
                return .callable(Callable(name: "changed") { (args: Arguments) throws(TemplateError) -> Value in
                    let now = Value.list(args.positional)
                    defer { changed.last = now }
                    guard let last = changed.last else { return .bool(true) }
                    return .bool(!pyEquals(last, now))
                })
            default: return nil
            }
        }
    }
}

/// `loop.changed(…)` remembers the previous call's arguments across iterations.
final class ChangedState {
    var last: Value?
}
