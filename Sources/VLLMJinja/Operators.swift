#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python `==`: numbers compare by value across bool/int/float, containers element-wise, and
/// objects by identity. Two `Undefined`s are equal, as in jinja2.
func pyEquals(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(x), .string(y)): return x.pyEquals(y)
    case let (.list(x), .list(y)): return x.count == y.count && zip(x, y).allSatisfy { pyEquals($0, $1) }
    case let (.dict(x), .dict(y)):
        return x.count == y.count && zip(x.keys, x.values).allSatisfy { k, v in y[k].map { pyEquals(v, $0) } ?? false }
    case let (.namespace(x), .namespace(y)): return x === y
    case let (.callable(x), .callable(y)): return x === y
    case let (.object(x), .object(y)): return x === y
    default:
        guard let x = Operators.number(a), let y = Operators.number(b) else { return false }
        return Operators.numericCompare(x, y) == 0
    }
}

enum Operators {
    /// A numeric operand: bools are ints, as in Python.
    enum Number { case int(Int), float(Double) }

    static func number(_ v: Value) -> Number? {
        switch v {
        case let .bool(b): return .int(b ? 1 : 0)
        case let .int(i): return .int(i)
        case let .float(d): return .float(d)
        default: return nil
        }
    }

    static func numericCompare(_ a: Number, _ b: Number) -> Int {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y ? -1 : x > y ? 1 : 0
        default:
            let x = a.double, y = b.double
            return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2
        }
    }

    /// Python `<`: numbers, strings by code point, lists lexicographically; anything else is a
    /// TypeError.
    static func less(_ a: Value, _ b: Value, _ symbol: String = "<") throws(TemplateError) -> Bool {
        if a.isUndefined { throw a.undefinedError }
        if b.isUndefined { throw b.undefinedError }
        switch (a, b) {
        case let (.string(x), .string(y)): return x.pyLess(y)
        case let (.list(x), .list(y)):
            for (p, q) in zip(x, y) where !pyEquals(p, q) { return try less(p, q, symbol) }
            return x.count < y.count
        default:
            guard let x = number(a), let y = number(b) else {
                throw .type("'\(symbol)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
            }
            return numericCompare(x, y) == -1
        }
    }

    static func compare(_ op: CompareOp, _ a: Value, _ b: Value) throws(TemplateError) -> Bool {
        switch op {
        case .eq: return pyEquals(a, b)
        case .ne: return !pyEquals(a, b)
        case .lt: return try less(a, b, "<")
        case .gt: return try less(b, a, ">")
        case .le: return try lessOrEqual(a, b, "<=")
        case .ge: return try lessOrEqual(b, a, ">=")
        case .in: return try contains(b, a)
        case .notIn: return try !contains(b, a)
        }
    }

    private static func lessOrEqual(_ a: Value, _ b: Value, _ symbol: String) throws(TemplateError) -> Bool {
        if let x = number(a), let y = number(b) {
            let c = numericCompare(x, y)
            return c == -1 || c == 0
        }
        return try less(a, b, symbol) || pyEquals(a, b)
    }

    /// Python `item in container`.
    static func contains(_ container: Value, _ item: Value) throws(TemplateError) -> Bool {
        switch container {
        case .undefined: return false
        case let .string(s):
            guard case let .string(needle) = item else {
                throw .type("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return s.scalars.find(needle.scalars) != nil
        case let .list(a): return a.contains { pyEquals($0, item) }
        case let .dict(d): return d[item] != nil
        case let .namespace(ns): return ns.attributes[item] != nil
        default: throw .type("argument of type '\(container.typeName)' is not iterable")
        }
    }

    static func negate(_ v: Value) throws(TemplateError) -> Value {
        switch number(v) {
        case let .int(i)?:
            guard i != .min else { throw .runtime("OverflowError: integer overflow") }
            return .int(-i)
        case let .float(d)?: return .float(-d)
        case nil:
            if v.isUndefined { throw v.undefinedError }
            throw .type("bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func plus(_ v: Value) throws(TemplateError) -> Value {
        switch number(v) {
        case let .int(i)?: return .int(i)
        case let .float(d)?: return .float(d)
        case nil:
            if v.isUndefined { throw v.undefinedError }
            throw .type("bad operand type for unary +: '\(v.typeName)'")
        }
    }

    /// Sizes are checked against `budget` before anything is built: `"a" * 10**10` must fail
    /// without trying to allocate ten gigabytes.
    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, _ budget: Budget) throws(TemplateError) -> Value {
        if op == .concat { return .string(try concatenate(try budget.str(a), try budget.str(b), budget)) }
        if a.isUndefined { throw a.undefinedError }
        if b.isUndefined { throw b.undefinedError }
        switch (op, a, b) {
        case let (.add, .string(x), .string(y)): return .string(try concatenate(x, y, budget))
        case let (.add, .list(x), .list(y)):
            try budget.checkList(x.count + y.count)
            try budget.chargeCopy((x.count &+ y.count) &* 16)
            return .list(x + y)
        case (.add, .string, _): throw .type("can only concatenate str (not \"\(b.typeName)\") to str")
        case (.add, .list, _): throw .type("can only concatenate list (not \"\(b.typeName)\") to list")
        case let (.mul, .string(s), _), let (.mul, _, .string(s)):
            guard case let .int(n)? = number(a.isString ? b : a) else { break }
            // An empty string repeated Int.max times is empty, but building it would never end.
            guard n > 0, !s.isEmpty else { return .string("") }
            try budget.checkString(s.utf8.count, times: n)
            try budget.chargeCopy(s.utf8.count &* n)
            return .string(String(repeating: s, count: n))
        case let (.mul, .list(l), _), let (.mul, _, .list(l)):
            guard case let .int(n)? = number(a.isList ? b : a) else { break }
            guard n > 0, !l.isEmpty else { return .list([]) }
            let (count, overflow) = l.count.multipliedReportingOverflow(by: n)
            try budget.checkList(overflow ? .max : count)
            try budget.chargeCopy(count &* 16)
            var out: [Value] = []
            out.reserveCapacity(count)
            for _ in 0..<n { out += l }
            return .list(out)
        case let (.mod, .string(format), _):
            return .string(try PercentFormat.format(format, b, budget))
        default:
            break
        }
        guard let x = number(a), let y = number(b) else {
            throw .type("unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        }
        return try arithmetic(op, x, y)
    }

    private static func concatenate(_ x: String, _ y: String, _ budget: Budget) throws(TemplateError) -> String {
        try budget.checkString(x.utf8.count, plus: y.utf8.count)
        try budget.chargeCopy(x.utf8.count &+ y.utf8.count)
        return x + y
    }

    private static func arithmetic(_ op: BinaryOp, _ x: Number, _ y: Number) throws(TemplateError) -> Value {
        if case let .int(i) = x, case let .int(j) = y {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws(TemplateError) -> Value {
                if r.overflow { throw .runtime("OverflowError: integer result too large") }
                return .int(r.partialValue)
            }
            switch op {
            case .add: return try checked(i.addingReportingOverflow(j))
            case .sub: return try checked(i.subtractingReportingOverflow(j))
            case .mul: return try checked(i.multipliedReportingOverflow(by: j))
            case .floorDiv, .mod:
                guard j != 0 else { throw .runtime("ZeroDivisionError: integer division or modulo by zero") }
                if i == .min && j == -1 { throw .runtime("OverflowError: integer result too large") }
                var q = i / j, r = i % j
                // Python rounds the quotient toward negative infinity; the remainder takes the
                // divisor's sign.
                if r != 0 && (r < 0) != (j < 0) { q -= 1; r += j }
                return .int(op == .floorDiv ? q : r)
            case .pow where j >= 0:
                var result = 1, base = i, e = j
                while e > 0 {
                    if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).intValue }
                    e >>= 1
                    if e > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).intValue }
                }
                return .int(result)
            default: break
            }
        }
        let a = x.double, b = y.double
        switch op {
        case .add: return .float(a + b)
        case .sub: return .float(a - b)
        case .mul: return .float(a * b)
        case .div:
            guard b != 0 else { throw .runtime("ZeroDivisionError: division by zero") }
            return .float(a / b)
        case .floorDiv:
            guard b != 0 else { throw .runtime("ZeroDivisionError: float floor division by zero") }
            return .float((a / b).rounded(.down))
        case .mod:
            guard b != 0 else { throw .runtime("ZeroDivisionError: float modulo") }
            var r = fmod(a, b)
            if r != 0 && (r < 0) != (b < 0) { r += b }
            return .float(r)
        case .pow:
            if a == 0 && b < 0 { throw .runtime("ZeroDivisionError: 0.0 cannot be raised to a negative power") }
            return .float(pow(a, b))
        case .concat: return .string("")
        }
    }
}

extension Operators.Number {
    var double: Double {
        switch self {
        case let .int(i): return Double(i)
        case let .float(d): return d
        }
    }
}

extension Value {
    var isString: Bool { if case .string = self { return true }; return false }
    var isList: Bool { if case .list = self { return true }; return false }
    var intValue: Int { if case let .int(i) = self { return i }; return 0 }
}
