/// Attribute (`a.b`), item (`a[b]`) and slice (`a[i:j:k]`) access with jinja2's rules: `.`
/// tries a Python attribute (a method) before a dict key, `[]` tries the key first; a miss gives
/// `Undefined`, and anything done to an `Undefined` other than printing or testing it fails.
enum Access {
    static func attribute(_ value: Value, _ name: String) throws(TemplateError) -> Value {
        if case .undefined = value { throw value.undefinedError }
        // The sandbox hides private and dunder attributes.
        if name.hasPrefix("_") { return missing(value, name) }
        if let method = try Methods.bound(value, name) { return method }
        switch value {
        case let .dict(d): if let v = d[name] { return v }
        case let .namespace(ns): if let v = ns.attributes[name] { return v }
        case let .object(o): if let v = try o.attribute(name) { return v }
        default: break
        }
        return missing(value, name)
    }

    static func item(_ value: Value, _ key: Value) throws(TemplateError) -> Value {
        switch value {
        case .undefined: throw value.undefinedError
        case let .list(a):
            if let i = index(key) {
                let j = i < 0 ? i + a.count : i
                return a.indices.contains(j) ? a[j] : missing(value, key)
            }
        case let .string(s):
            if let i = index(key) {
                let scalars = s.scalars
                let j = i < 0 ? i + scalars.count : i
                return scalars.indices.contains(j) ? .string(String(scalars[j])) : missing(value, key)
            }
        case let .dict(d):
            if let v = d[key] { return v }
        case let .namespace(ns):
            if let v = ns.attributes[key] { return v }
        default: break
        }
        if case let .string(name) = key { return try attribute(value, name) }
        return missing(value, key)
    }

    private static func index(_ key: Value) -> Int? {
        switch key {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The `Undefined` a failed lookup yields, with jinja2's message.
    static func missing(_ value: Value, _ key: Value) -> Value {
        if case let .string(name) = key { return missing(value, name) }
        return .undefined("'\(value.objectTypeRepr)' has no element \(key.briefRepr())")
    }

    static func missing(_ value: Value, _ name: String) -> Value {
        let owner = if case .namespace = value { "jinja2.utils.Namespace object" } else { value.objectTypeRepr }
        return .undefined("'\(owner)' has no attribute \(PythonString.repr(name))")
    }

    /// Python slicing of lists and strings, negative steps included.
    static func slice(_ value: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws(TemplateError) -> Value {
        func bound(_ v: Value?) throws(TemplateError) -> Int? {
            guard let v, !v.isNone else { return nil }
            if case .undefined = v { throw v.undefinedError }
            guard let i = index(v) else { throw .type("slice indices must be integers or None or have an __index__ method") }
            return i
        }
        let s = try bound(step) ?? 1
        guard s != 0 else { throw .value("slice step cannot be zero") }
        let (lo, hi) = (try bound(start), try bound(stop))
        func indices(_ n: Int) -> [Int] {
            func clamp(_ v: Int?, _ defaultValue: Int) -> Int {
                guard var v else { return defaultValue }
                if v < 0 { v += n }
                return s > 0 ? min(max(v, 0), n) : min(max(v, -1), n - 1)
            }
            let a = clamp(lo, s > 0 ? 0 : n - 1), b = clamp(hi, s > 0 ? n : -1)
            // Not `stride`: stepping past the end by a step near Int.max would overflow.
            var out: [Int] = []
            var i = a
            while s > 0 ? i < b : i > b {
                out.append(i)
                let (next, overflow) = i.addingReportingOverflow(s)
                if overflow { break }
                i = next
            }
            return out
        }
        switch value {
        case .undefined: throw value.undefinedError
        case let .list(a): return .list(indices(a.count).map { a[$0] })
        case let .string(str):
            let scalars = str.scalars
            return .string(String(indices(scalars.count).map { scalars[$0] }))
        default:
            // jinja2 turns the TypeError into an Undefined naming the slice object.
            let parts = [start, stop, step].map { ($0 ?? .none).briefRepr() }.joined(separator: ", ")
            return .undefined("'\(value.objectTypeRepr)' has no element slice(\(parts))")
        }
    }
}
