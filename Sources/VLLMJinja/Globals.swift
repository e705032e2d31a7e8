#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The global functions a chat template can call: jinja2's defaults (`range`, `dict`,
/// `namespace`, `cycler`, `joiner`) and Hugging Face's additions (`raise_exception`,
/// `strftime_now`).
enum Globals {
    /// jinja2's sandbox refuses larger ranges.
    static let maxRange = 100_000

    static func make(now: @escaping () -> time_t = { time(nil) }) -> [String: Value] {
        func fn(_ name: String, _ body: @escaping (Arguments) throws(TemplateError) -> Value) -> Value {
            .callable(Callable(name: name, body))
        }
        return [
            "range": fn("range", range),
            "dict": fn("dict") { (args: Arguments) throws(TemplateError) -> Value in
                var d = Dict()
                if let first = args.positional.first {
                    switch first {
                    case let .dict(other): d = other
                    default:
                        for pair in try Interpreter.iterate(first) {
                            let kv = try Interpreter.iterate(pair)
                            guard kv.count == 2 else { throw .value("dictionary update sequence element has length \(kv.count); 2 is required") }
                            d[kv[0]] = kv[1]
                        }
                    }
                }
                for (k, v) in args.keywords { d[k] = v }
                return .dict(d)
            },
            "namespace": fn("namespace") { (args: Arguments) throws(TemplateError) -> Value in
                var d = Dict()
                if case let .dict(initial)? = args.positional.first { d = initial }
                for (k, v) in args.keywords { d[k] = v }
                return .namespace(Namespace(d))
            },
            "raise_exception": fn("raise_exception") { (args: Arguments) throws(TemplateError) -> Value in
                throw TemplateError(.raised, args.get(0, "message")?.pyStr ?? "")
            },
            "strftime_now": fn("strftime_now") { (args: Arguments) throws(TemplateError) -> Value in
                .string(formatTime(args.get(0, "format")?.pyStr ?? "", now()))
            },
            "cycler": fn("cycler") { args in .object(cycler(args.positional)) },
            "joiner": fn("joiner") { args in
                let sep = args.get(0, "sep") ?? .string(", ")
                var used = false
                return fn("joiner") { _ in
                    defer { used = true }
                    return used ? .string(sep.pyStr) : .string("")
                }
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
        let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
        guard count <= maxRange else {
            throw .runtime("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        return .list(Swift.stride(from: start, to: stop, by: step).map(Value.int))
    }

    private static func cycler(_ items: [Value]) -> Object {
        final class State { var pos = 0 }
        let state = State()
        return Object(typeName: "Cycler") { (name: String) throws(TemplateError) -> Value? in
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
