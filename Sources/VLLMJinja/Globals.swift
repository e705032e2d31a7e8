#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The global functions a chat template can call: jinja2's defaults (`range`, `dict`,
/// `namespace`, `cycler`, `joiner`) and Hugging Face's additions (`raise_exception`,
/// `strftime_now`).
/// The namespaces one render created. Releasing them empties each one, which breaks any cycle
/// a template tied (`{% set ns.me = ns %}`); the render's result is text, so nothing can
/// still be using them.
final class NamespaceLog {
    var namespaces: [Namespace] = []

    func release() {
        for ns in namespaces { ns.attributes = Dict() }
        namespaces = []
    }
}

enum Globals {
    /// jinja2's sandbox refuses larger ranges.
    static let maxRange = 100_000

    /// `created` records every namespace the render makes, so the render can break the
    /// reference cycles a template may tie them into.
    static func make(now: @escaping () -> time_t = { time(nil) }, created: NamespaceLog = NamespaceLog()) -> [String: Value] {
        func fn(_ name: String, _ body: @escaping (Arguments, Budget) throws(TemplateError) -> Value) -> Value {
            .callable(Callable(name: name, limited: body))
        }
        return [
            "range": fn("range") { (args: Arguments, _: Budget) throws(TemplateError) -> Value in try range(args) },
            "dict": fn("dict") { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                var d = Dict()
                if let first = args.positional.first {
                    switch first {
                    case let .dict(other): d = other
                    default:
                        for pair in try Interpreter.iterate(first, budget) {
                            let kv = try Interpreter.iterate(pair, budget)
                            guard kv.count == 2 else { throw .value("dictionary update sequence element has length \(kv.count); 2 is required") }
                            d[kv[0]] = kv[1]
                        }
                    }
                }
                for (k, v) in args.keywords { d[k] = v }
                try Nesting.check(.dict(d))
                return .dict(d)
            },
            "namespace": fn("namespace") { (args: Arguments, _: Budget) throws(TemplateError) -> Value in
                var d = Dict()
                if case let .dict(initial)? = args.positional.first { d = initial }
                for (k, v) in args.keywords { d[k] = v }
                try Nesting.check(.dict(d))
                let ns = Namespace(d)
                created.namespaces.append(ns)
                return .namespace(ns)
            },
            "raise_exception": fn("raise_exception") { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                throw TemplateError(.raised, try budget.str(args.get(0, "message") ?? .string("")))
            },
            "strftime_now": fn("strftime_now") { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                .string(formatTime(try budget.str(args.get(0, "format") ?? .string("")), now()))
            },
            "cycler": fn("cycler") { (args: Arguments, _: Budget) throws(TemplateError) -> Value in
                let items = Value.list(args.positional)
                try Nesting.check(items)
                return .object(cycler(args.positional, captured: items))
            },
            "joiner": fn("joiner") { (args: Arguments, _: Budget) throws(TemplateError) -> Value in
                let sep = args.get(0, "sep") ?? .string(", ")
                try Nesting.check(.list([sep]))
                var used = false
                return .callable(Callable(name: "joiner", captured: sep) { (_: Arguments, budget: Budget) throws(TemplateError) -> Value in
                    defer { used = true }
                    return used ? .string(try budget.str(sep)) : .string("")
                })
            },
        ]
    }

    private static func range(_ args: Arguments) throws(TemplateError) -> Value {
        var ints: [Int] = []
        for v in args.positional {
            guard case let .int(i)? = Operators.number(v) else {
                if v.isUndefined { throw v.undefinedError }
                throw .type("'\(v.typeName)' object cannot be interpreted as an integer")
            }
            ints.append(i)
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw .type("range expected at most 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw .value("range() arg 3 must not be zero") }
        // Counted in unsigned arithmetic: `stop - start` can exceed Int.max (range(-2**62, 2**62)).
        var count = 0
        if step > 0 && stop > start {
            count = Int(clamping: (UInt(bitPattern: stop &- start) - 1) / UInt(step) + 1)
        } else if step < 0 && start > stop {
            count = Int(clamping: (UInt(bitPattern: start &- stop) - 1) / step.magnitude + 1)
        }
        guard count <= maxRange else {
            throw .runtime("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        // Every item lies between start and stop; only the step past the last may wrap, unused.
        var items: [Value] = [], v = start
        items.reserveCapacity(count)
        for _ in 0..<count {
            items.append(.int(v))
            v = v &+ step
        }
        return .list(items)
    }

    private static func cycler(_ items: [Value], captured: Value) -> Object {
        final class State { var pos = 0 }
        let state = State()
        return Object(typeName: "Cycler", captured: captured) { (name: String) throws(TemplateError) -> Value? in
            switch name {
            case "current": return items.isEmpty ? .undefined("empty cycler") : items[state.pos]
            case "reset": return .callable(Callable(name: "reset") { _ in state.pos = 0; return .none })
            case "next":
                return .callable(Callable(name: "next") { (_: Arguments) throws(TemplateError) -> Value in
                    guard !items.isEmpty else { throw .runtime("IndexError: empty cycler") }
                    defer { state.pos = (state.pos + 1) % items.count }
                    return items[state.pos]
                })
            default: return nil
            }
        }
    }

    /// C `strftime` on local time, which is what Python's `datetime.now().strftime` uses.
    static func formatTime(_ format: String, _ t: time_t) -> String {
        var t = t
        var tmValue = tm()
        localtime_r(&t, &tmValue)
        guard !format.isEmpty else { return "" }
        var size = 256
        while size <= 65536 {
            var buffer = [CChar](repeating: 0, count: size)
            let n = strftime(&buffer, size, format, &tmValue)
            if n > 0 { return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            size *= 4
        }
        return ""
    }
}
