/// A parsed Jinja template, rendered with jinja2's semantics as Hugging Face configures them:
/// `trim_blocks` and `lstrip_blocks` on, the `loopcontrols` extension (`break`/`continue`), an
/// immutable sandbox, the default `Undefined`, and the globals `raise_exception` and
/// `strftime_now`.
///
/// ```swift
/// let t = try Template("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}")
/// let text = try t.render(["messages": try Value(json: #"[{"role": "user", "content": "hi"}]"#)])
/// ```
///
/// Parsing happens once; a `Template` is immutable and can be rendered from many threads.
public struct Template: Sendable {
    let body: [Stmt]

    /// Parses `source`; throws a `.syntax` error with the line of the problem.
    public init(_ source: String) throws(TemplateError) {
        body = try Parser.parse(source)
    }

    /// Renders with `context` as the template's variables. Every failure is a thrown
    /// `TemplateError`, including runaway recursion; a template that would go past one of
    /// `limits` (size, work, recursion, time, cancellation) fails with a `.limit` error.
    public func render(_ context: [String: Value], limits: RenderLimits = .default) throws(TemplateError) -> String {
        let budget = Budget(limits)
        let created = NamespaceLog()
        // `{% set ns.me = ns %}` makes a cycle that reference counting would never free.
        defer { created.release() }
        let interp = Interpreter(globals: Globals.make(created: created), budget: budget)
        let scope = Scope(parent: nil)
        for (k, v) in context { scope.set(k, v) }
        // A deadline already passed or a request already cancelled stops before any work.
        try budget.poll()
        return try interp.render(body, scope)
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    /// Keys keep the order written, like a Python dict literal.
    public init(dictionaryLiteral elements: (String, Value)...) { self = .dict(Dict(elements)) }
    /// `nil` is Python's `None`.
    public init(nilLiteral: ()) { self = .none }
}
