/// How deeply values may nest. A template can wrap a value in itself over and over
/// (`{% set ns.x = [ns.x] %}` in a loop); printing, comparing or even freeing such a value
/// recurses once per level, so past a few thousand levels it would overflow the stack. Values
/// are measured where they gain a level, and refused past `maxDepth` (the JSON parser's cap,
/// so any JSON input still fits).
enum Nesting {
    static let maxDepth = 512

    static var tooDeep: TemplateError {
        TemplateError(.limit, "value nesting exceeds the limit of \(maxDepth) levels")
    }

    /// Throws if `value` nests deeper than `maxDepth`.
    static func check(_ value: Value) throws(TemplateError) {
        var path: [ObjectIdentifier] = []
        if deepest(value, at: 0, &path) > maxDepth { throw tooDeep }
    }

    /// The level the deepest scalar inside `value` sits at, `value` being at `level`. Stops
    /// looking once past `maxDepth`, and treats a namespace already on the path as a leaf
    /// (namespaces are the one thing that can contain themselves).
    private static func deepest(_ value: Value, at level: Int, _ path: inout [ObjectIdentifier]) -> Int {
        if level > maxDepth { return level }
        var best = level
        func visit(_ children: some Sequence<Value>, _ path: inout [ObjectIdentifier]) -> Bool {
            best = level + 1
            for c in children {
                switch c {
                case .list, .dict, .namespace, .callable, .object: best = max(best, deepest(c, at: level + 1, &path))
                default: continue
                }
                if best > maxDepth { return false }
            }
            return true
        }
        switch value {
        case let .list(a): _ = visit(a, &path)
        case let .dict(d): _ = visit(d.values, &path)
        case let .namespace(ns):
            let id = ObjectIdentifier(ns)
            if path.contains(id) { return level }
            path.append(id)
            _ = visit(ns.attributes.values, &path)
            path.removeLast()
        case let .callable(c): if let v = c.captured { _ = visit(CollectionOfOne(v), &path) }
        case let .object(o): if let v = o.captured { _ = visit(CollectionOfOne(v), &path) }
        default: break
        }
        return best
    }
}
