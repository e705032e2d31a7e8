/// Filters over sequences and mappings: `length`, `first`, `join`, `map`, `selectattr`, `sort` …
enum SequenceFilters {
    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interp: Interpreter) throws(TemplateError) -> Value {
        let b = interp.budget
        switch name {
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case let .string(s): return .int(s.pyCount)
            case let .list(a): return .int(a.count)
            case let .dict(d): return .int(d.count)
            case let .namespace(ns): return .int(ns.attributes.count)
            default: throw .type("object of type '\(value.typeName)' has no len()")
            }
        case "list": return .list(try Interpreter.iterate(value, b))
        case "first":
            return try Interpreter.iterate(value, b).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .string = value {} else if case .list = value {} else if case .dict = value {} else if !value.isUndefined {
                throw .type("'\(value.typeName)' object is not reversible")
            }
            return try Interpreter.iterate(value, b).last ?? .undefined("No last item, sequence was empty.")
        case "reverse":
            if case let .string(s) = value { return .string(String(s.scalars.reversed())) }
            return .list(try Interpreter.iterate(value, b).reversed())
        case "items":
            switch value {
            case .undefined: return .list([])
            case let .dict(d):
                let pairs = Value.list(zip(d.keys, d.values).map { .list([$0, $1]) })
                try Nesting.check(pairs)
                return pairs
            default: throw .type("Can only get item pairs from a mapping.")
            }
        case "join":
            try args.check(name, ["d", "attribute"])
            var items = try Interpreter.iterate(value, b)
            if let attr = args.get(1, "attribute"), !attr.isNone { items = try items.map { v throws(TemplateError) in try attribute(v, attr) } }
            return .string(try join(items, separator: try b.str(args.get(0, "d") ?? .string("")), b))
        case "map":
            return .list(try map(try Interpreter.iterate(value, b), args, interp))
        case "select", "reject":
            let items = try Interpreter.iterate(value, b)
            let rest = Arguments(Array(args.positional.dropFirst()), keywords: args.keywords)
            var kept: [Value] = []
            for v in items {
                let ok = try args.positional.first.map { t throws(TemplateError) in try Tests.apply(try b.str(t), v, rest, interp) } ?? v.truthy
                if ok == (name == "select") { kept.append(v) }
            }
            return .list(kept)
        case "selectattr", "rejectattr":
            guard let attr = args.positional.first else { throw .type("\(name)() missing attribute") }
            let rest = Arguments(Array(args.positional.dropFirst(2)), keywords: args.keywords)
            var kept: [Value] = []
            for v in try Interpreter.iterate(value, b) {
                let a = try attribute(v, attr)
                let ok = args.positional.count > 1 ? try Tests.apply(try b.str(args.positional[1]), a, rest, interp) : a.truthy
                if ok == (name == "selectattr") { kept.append(v) }
            }
            return .list(kept)
        case "unique":
            let caseSensitive = args.get(0, "case_sensitive")?.truthy ?? false
            let attr = args.get(1, "attribute")
            var seen: [Value] = [], out: [Value] = []
            for v in try Interpreter.iterate(value, b) {
                let key = try sortKey(attr.map { a throws(TemplateError) in try attribute(v, a) } ?? v, caseSensitive)
                if !seen.contains(where: { pyEquals($0, key) }) { seen.append(key); out.append(v) }
            }
            return .list(out)
        case "sort":
            let reverse = args.get(0, "reverse")?.truthy ?? false
            let caseSensitive = args.get(1, "case_sensitive")?.truthy ?? false
            let attr = args.get(2, "attribute")
            let items = try Interpreter.iterate(value, b)
            let keys = try items.map { v throws(TemplateError) in
                try sortKey(attr.flatMap { $0.isNone ? nil : $0 }.map { a throws(TemplateError) in try attribute(v, a) } ?? v, caseSensitive)
            }
            return .list(try stableSort(Array(zip(keys, items)), reverse: reverse).map(\.1))
        case "dictsort":
            guard case let .dict(d) = value else { throw .runtime("FilterArgumentError: You can only sort by either 'key' or 'value'") }
            let caseSensitive = args.get(0, "case_sensitive")?.truthy ?? false
            let byValue = try b.str(args.get(1, "by") ?? .string("key")) == "value"
            let reverse = args.get(2, "reverse")?.truthy ?? false
            let pairs = try zip(d.keys, d.values).map { k, v throws(TemplateError) in (try sortKey(byValue ? v : k, caseSensitive), Value.list([k, v])) }
            let sorted = Value.list(try stableSort(pairs, reverse: reverse).map(\.1))
            try Nesting.check(sorted)
            return sorted
        case "min", "max":
            let caseSensitive = args.get(0, "case_sensitive")?.truthy ?? false
            let attr = args.get(1, "attribute")
            let items = try Interpreter.iterate(value, b)
            guard !items.isEmpty else { return .undefined("No aggregated item, sequence was empty.") }
            let keyed = try items.map { v throws(TemplateError) in (try sortKey(attr.map { a throws(TemplateError) in try attribute(v, a) } ?? v, caseSensitive), v) }
            var best = keyed[0]
            for k in keyed.dropFirst() where try name == "min" ? Operators.less(k.0, best.0) : Operators.less(best.0, k.0) { best = k }
            return best.1
        case "sum":
            var total = args.get(1, "start") ?? .int(0)
            let attr = args.get(0, "attribute")
            for v in try Interpreter.iterate(value, b) {
                total = try Operators.binary(.add, total, try attr.map { a throws(TemplateError) in try attribute(v, a) } ?? v, b)
            }
            return total
        case "batch":
            let size = args.get(0, "linecount")?.intValue ?? 1
            guard size > 0 else { throw .value("batch size must be positive") }
            let fill = args.get(1, "fill_with")
            var rows: [Value] = [], row: [Value] = []
            for v in try Interpreter.iterate(value, b) {
                row.append(v)
                if row.count == size { rows.append(.list(row)); row = [] }
            }
            if !row.isEmpty {
                if let fill, !fill.isNone {
                    // `size` comes from the template: the padding is what could be huge.
                    try b.checkList(size)
                    row += Array(repeating: fill, count: size - row.count)
                }
                rows.append(.list(row))
            }
            try Nesting.check(.list(rows))
            return .list(rows)
        case "groupby":
            guard let attr = args.get(0, "attribute") else { throw .type("groupby() missing attribute") }
            let items = try Interpreter.iterate(value, b)
            let keyed = try items.map { v throws(TemplateError) in (try attribute(v, attr), v) }
            var groups: [(Value, [Value])] = []
            for (k, v) in try stableSort(keyed, reverse: false) {
                if let last = groups.last, pyEquals(last.0, k) { groups[groups.count - 1].1.append(v) } else { groups.append((k, [v])) }
            }
            let grouped = Value.list(groups.map { .list([$0.0, .list($0.1)]) })
            try Nesting.check(grouped)
            return grouped
        default:
            throw TemplateError(.runtime, "No filter named '\(name)'.")
        }
    }

    /// `map(attribute='x', default=…)` or `map('filter', args…)`.
    private static func map(_ items: [Value], _ args: Arguments, _ interp: Interpreter) throws(TemplateError) -> [Value] {
        if let attr = args.keywords.last(where: { $0.0 == "attribute" })?.1 {
            let fallback = args.keywords.last { $0.0 == "default" }?.1
            return try items.map { v throws(TemplateError) in
                let a = try attribute(v, attr)
                if a.isUndefined, let fallback { return fallback }
                return a
            }
        }
        guard let filter = args.positional.first else { throw .runtime("FilterArgumentError: map requires a filter argument") }
        let rest = Arguments(Array(args.positional.dropFirst()), keywords: args.keywords)
        let name = try interp.budget.str(filter)
        return try items.map { v throws(TemplateError) in try Filters.apply(name, v, rest, interp) }
    }

    /// `sep.join(str(x) for x in items)`, refused as soon as it outgrows the value size limit.
    static func join(_ items: [Value], separator: String, _ budget: Budget) throws(TemplateError) -> String {
        var out = ""
        for (i, v) in items.enumerated() {
            let piece = try budget.str(v)
            let sep = i > 0 ? separator.utf8.count : 0
            try budget.checkString(out.utf8.count, plus: sep &+ piece.utf8.count)
            try budget.chargeCopy(sep &+ piece.utf8.count)
            if i > 0 { out += separator }
            out += piece
        }
        return out
    }

    /// jinja2's `make_attrgetter`: a dotted path of item lookups (`"a.0.b"`).
    static func attribute(_ value: Value, _ path: Value) throws(TemplateError) -> Value {
        guard case let .string(p) = path else { return try Access.item(value, path) }
        var v = value
        for part in p.split(separator: ".", omittingEmptySubsequences: false) {
            v = try Access.item(v, Int(part).map(Value.int) ?? .string(String(part)))
        }
        return v
    }

    private static func sortKey(_ v: Value, _ caseSensitive: Bool) throws(TemplateError) -> Value {
        if !caseSensitive, case let .string(s) = v { return .string(Case.lower(s)) }
        return v
    }

    /// A stable merge sort with Python's `<` (which may throw on mixed types).
    static func stableSort(_ items: [(Value, Value)], reverse: Bool) throws(TemplateError) -> [(Value, Value)] {
        if items.count < 2 { return items }
        let mid = items.count / 2
        let left = try stableSort(Array(items[..<mid]), reverse: reverse)
        let right = try stableSort(Array(items[mid...]), reverse: reverse)
        var out: [(Value, Value)] = [], i = 0, j = 0
        out.reserveCapacity(items.count)
        while i < left.count && j < right.count {
            let takeRight = reverse ? try Operators.less(left[i].0, right[j].0) : try Operators.less(right[j].0, left[i].0)
            if takeRight { out.append(right[j]); j += 1 } else { out.append(left[i]); i += 1 }
        }
        return out + left[i...] + right[j...]
    }
}
