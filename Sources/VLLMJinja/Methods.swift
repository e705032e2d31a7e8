/// The Python methods templates call on values: `str.strip()`, `dict.items()`, `list.index()` …
/// Methods that mutate a list or dict are refused, as Hugging Face's immutable sandbox does.
enum Methods {
    private static let mutating: [String: Set<String>] = [
        "list": ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"],
        "dict": ["pop", "popitem", "update", "setdefault", "clear"],
    ]

    /// The method `name` of `value` bound to it, or nil if it has none.
    static func bound(_ value: Value, _ name: String) throws(TemplateError) -> Value? {
        if mutating[value.typeName]?.contains(name) == true {
            let message = "access to attribute '\(name)' of '\(value.typeName)' object is unsafe."
            return .callable(Callable(name: name) { (_: Arguments) throws(TemplateError) -> Value in
                throw TemplateError(.security, message)
            })
        }
        let body: ((Arguments, Budget) throws(TemplateError) -> Value)?
        switch value {
        case let .string(s): body = stringMethod(s, name)
        case let .dict(d): body = dictMethod(d, name)
        case let .list(a): body = listMethod(a, name)
        default: body = nil
        }
        // A bound method keeps its list or dict alive: nesting checks must see through it.
        let receiver: Value? = switch value { case .list, .dict: value; default: nil }
        return body.map { .callable(Callable(name: name, captured: receiver, limited: $0)) }
    }

    private static func dictMethod(_ d: Dict, _ name: String) -> ((Arguments, Budget) throws(TemplateError) -> Value)? {
        switch name {
        case "items":
            return { (_: Arguments, _: Budget) throws(TemplateError) -> Value in
                let pairs = Value.list(zip(d.keys, d.values).map { .list([$0, $1]) })
                try Nesting.check(pairs)
                return pairs
            }
        case "keys": return { _, _ in .list(d.keys) }
        case "values": return { _, _ in .list(d.values) }
        case "copy": return { _, _ in .dict(d) }
        case "get":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                guard let key = args.positional.first else { throw .type("get expected at least 1 argument, got 0") }
                return d[key] ?? args.get(1, "default") ?? .none
            }
        default: return nil
        }
    }

    private static func listMethod(_ a: [Value], _ name: String) -> ((Arguments, Budget) throws(TemplateError) -> Value)? {
        switch name {
        case "copy": return { _, _ in .list(a) }
        case "count": return { args, _ in .int(a.filter { pyEquals($0, args.positional.first ?? .none) }.count) }
        case "index":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let x = args.positional.first ?? .none
                guard let i = a.firstIndex(where: { pyEquals($0, x) }) else { throw .value("\(x.briefRepr()) is not in list") }
                return .int(i)
            }
        default: return nil
        }
    }

    private static func stringMethod(_ s: String, _ name: String) -> ((Arguments, Budget) throws(TemplateError) -> Value)? {
        let scalars = s.scalars
        func str(_ v: Value?, _ what: String) throws(TemplateError) -> Scalars? {
            guard let v, !v.isNone else { return nil }
            guard case let .string(x) = v else { throw .type("\(what) arg must be None or str") }
            return x.scalars
        }
        func int(_ v: Value?, _ defaultValue: Int) throws(TemplateError) -> Int {
            guard let v, !v.isNone else { return defaultValue }
            guard case let .int(i)? = Operators.number(v) else { throw .type("'\(v.typeName)' object cannot be interpreted as an integer") }
            return i
        }
        func text(_ x: Scalars) -> Value { .string(String(x)) }
        func strips(leading: Bool, trailing: Bool) -> (Arguments, Budget) throws(TemplateError) -> Value {
            { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                text(scalars.stripped(try str(args.get(0, "chars"), name), leading: leading, trailing: trailing))
            }
        }
        func affix(_ suffix: Bool) -> (Arguments, Budget) throws(TemplateError) -> Value {
            { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let candidates: [Value]
                switch args.positional.first {
                case let .list(l)?: candidates = l
                case let v?: candidates = [v]
                case nil: throw .type("\(name)() takes at least 1 argument (0 given)")
                }
                let (lo, hi) = try range(args, scalars.count)
                let part = lo < hi ? Array(scalars[lo..<hi]) : []
                for c in candidates {
                    guard case let .string(p) = c else {
                        throw .type("\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                    }
                    if suffix ? part.hasSuffix(p.scalars) : part.hasPrefix(p.scalars) { return .bool(true) }
                }
                return .bool(false)
            }
        }
        func range(_ args: Arguments, _ n: Int) throws(TemplateError) -> (Int, Int) {
            func norm(_ v: Int) -> Int { v < 0 ? max(v + n, 0) : min(v, n) }
            return (norm(try int(args.positional.count > 1 ? args.positional[1] : nil, 0)),
                    norm(try int(args.positional.count > 2 ? args.positional[2] : nil, n)))
        }
        func search(_ reverse: Bool, raising: Bool) -> (Arguments, Budget) throws(TemplateError) -> Value {
            { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                guard let sub = try str(args.positional.first, name) else { throw .type("must be str, not NoneType") }
                let (lo, hi) = try range(args, scalars.count)
                let found = reverse ? scalars.rfind(sub, from: lo, to: hi) : scalars.find(sub, from: lo, to: hi)
                if found == nil && raising { throw .value("substring not found") }
                return .int(found ?? -1)
            }
        }
        func pad(_ align: String) -> (Arguments, Budget) throws(TemplateError) -> Value {
            { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let width = try int(args.positional.first, 0)
                let fill = try str(args.get(1, "fillchar"), name)?.first ?? " "
                return .string(try Padding.pad(s, width: width, fill: fill, align: align, budget))
            }
        }
        func predicate(_ test: @escaping (Scalars) -> Bool) -> (Arguments, Budget) throws(TemplateError) -> Value {
            { _, _ in .bool(test(scalars)) }
        }
        switch name {
        case "strip": return strips(leading: true, trailing: true)
        case "lstrip": return strips(leading: true, trailing: false)
        case "rstrip": return strips(leading: false, trailing: true)
        case "upper": return { _, _ in .string(Case.upper(s)) }
        case "lower", "casefold": return { _, _ in .string(Case.lower(s)) }
        case "title": return { _, _ in .string(Case.pyTitle(s)) }
        case "capitalize": return { _, _ in .string(Case.capitalize(s)) }
        case "swapcase": return { _, _ in .string(Case.swapcase(s)) }
        case "startswith": return affix(false)
        case "endswith": return affix(true)
        case "find": return search(false, raising: false)
        case "rfind": return search(true, raising: false)
        case "index": return search(false, raising: true)
        case "rindex": return search(true, raising: true)
        case "split", "rsplit":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let sep = try str(args.get(0, "sep"), name)
                let maxsplit = try int(args.get(1, "maxsplit"), -1)
                let parts = name == "split" ? try scalars.pySplit(sep, maxsplit: maxsplit) : try scalars.pyRSplit(sep, maxsplit: maxsplit)
                return .list(parts.map(text))
            }
        case "splitlines":
            return { args, _ in .list(scalars.splitLines(keepEnds: args.get(0, "keepends")?.truthy ?? false).map(text)) }
        case "replace":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                guard let old = try str(args.get(0, "old"), name), let new = try str(args.get(1, "new"), name) else {
                    throw .type("replace expected at least 2 arguments")
                }
                return text(try scalars.replacing(old, with: new, count: try int(args.get(2, "count"), -1), budget: budget))
            }
        case "count":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                guard let sub = try str(args.positional.first, name) else { throw .type("must be str, not NoneType") }
                let (lo, hi) = try range(args, scalars.count)
                if sub.isEmpty { return .int(max(hi - lo, 0) + 1) }
                var n = 0, i = lo
                while let j = scalars.find(sub, from: i, to: hi) { n += 1; i = j + sub.count }
                return .int(n)
            }
        case "join":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                var parts: [String] = []
                for (i, v) in try Interpreter.iterate(args.positional.first ?? .list([]), budget).enumerated() {
                    guard case let .string(p) = v else { throw .type("sequence item \(i): expected str instance, \(v.typeName) found") }
                    parts.append(p)
                }
                return .string(try SequenceFilters.join(parts.map(Value.string), separator: s, budget))
            }
        case "format": return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in .string(try StrFormat.format(s, args, budget)) }
        case "removeprefix", "removesuffix":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let affix = try str(args.positional.first, name) ?? []
                if name == "removeprefix" { return text(scalars.hasPrefix(affix) ? Array(scalars.dropFirst(affix.count)) : scalars) }
                return text(scalars.hasSuffix(affix) && !affix.isEmpty ? Array(scalars.dropLast(affix.count)) : scalars)
            }
        case "partition", "rpartition":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                guard let sep = try str(args.positional.first, name), !sep.isEmpty else { throw .value("empty separator") }
                let found = name == "partition" ? scalars.find(sep) : scalars.rfind(sep)
                guard let i = found else {
                    return name == "partition" ? .list([.string(s), .string(""), .string("")]) : .list([.string(""), .string(""), .string(s)])
                }
                return .list([text(Array(scalars[..<i])), text(sep), text(Array(scalars[(i + sep.count)...]))])
            }
        case "center": return pad("^")
        case "ljust": return pad("<")
        case "rjust": return pad(">")
        case "zfill":
            return { (args: Arguments, budget: Budget) throws(TemplateError) -> Value in
                let width = try int(args.positional.first, 0)
                try budget.checkString(width)
                var body = scalars
                var sign: Scalars = []
                if let f = body.first, f == "+" || f == "-" { sign = [f]; body.removeFirst() }
                return text(sign + Array(repeating: "0", count: width > scalars.count ? width - scalars.count : 0) + body)
            }
        case "isdigit", "isnumeric", "isdecimal":
            return predicate { !$0.isEmpty && $0.allSatisfy { $0.properties.numericType != nil } }
        case "isalpha": return predicate { !$0.isEmpty && $0.allSatisfy { $0.properties.isAlphabetic } }
        case "isalnum":
            return predicate { !$0.isEmpty && $0.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil } }
        case "isspace": return predicate { !$0.isEmpty && $0.allSatisfy(\.isPyWhitespace) }
        case "isupper": return predicate { $0.contains { $0.properties.isUppercase } && !$0.contains { $0.properties.isLowercase } }
        case "islower": return predicate { $0.contains { $0.properties.isLowercase } && !$0.contains { $0.properties.isUppercase } }
        default: return nil
        }
    }
}

enum Padding {
    /// Pads `s` to `width` code points, `align` being `<`, `>` or `^` (Python's centering puts
    /// the odd extra character on the right unless the padding is odd and the width is odd too).
    static func pad(_ s: String, width: Int, fill: Unicode.Scalar, align: String, _ budget: Budget) throws(TemplateError) -> String {
        let n = s.pyCount
        guard width > n else { return s }
        try budget.checkString(width)
        let total = width - n
        let f = { (k: Int) in String(repeating: String(fill), count: k) }
        switch align {
        case "<": return s + f(total)
        case ">": return f(total) + s
        default:
            // CPython's str.center: left = total/2 + (total & width & 1).
            let left = total / 2 + (total & width & 1)
            return f(left) + s + f(total - left)
        }
    }
}
