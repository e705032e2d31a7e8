/// jinja2's built-in tests (`x is defined`, `x is string`, `n is divisibleby 3` …).
enum Tests {
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false",
        "filter", "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower",
        "lt", "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string",
        "test", "true", "undefined", "upper",
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interp: Interpreter) throws(TemplateError) -> Bool {
        let arg = args.positional.first ?? .undefined("missing test argument")
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .float = value { return true }; return false
        case "number": return Operators.number(value) != nil
        case "string": return value.isString
        case "mapping": if case .dict = value { return true }; return false
        case "iterable", "sequence":
            switch value {
            case .undefined, .string, .list, .dict: return true
            case .namespace: return name == "iterable"
            default: return false
            }
        case "callable":
            switch value {
            case .callable: return true
            case let .object(o): return o.call != nil
            default: return false
            }
        case "lower":
            let s = try interp.budget.str(value).unicodeScalars
            return s.contains { $0.properties.isLowercase } && !s.contains { $0.properties.isUppercase }
        case "upper":
            let s = try interp.budget.str(value).unicodeScalars
            return s.contains { $0.properties.isUppercase } && !s.contains { $0.properties.isLowercase }
        case "even", "odd":
            guard case let .int(i)? = Operators.number(value) else {
                if value.isUndefined { throw value.undefinedError }
                throw .type("not all arguments converted during string formatting")
            }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard case let .int(i)? = Operators.number(value), case let .int(n)? = Operators.number(arg) else {
                return try Operators.binary(.mod, value, arg, interp.budget).truthy == false
            }
            guard n != 0 else { throw .runtime("ZeroDivisionError: integer division or modulo by zero") }
            // `Int.min % -1` traps in Swift; every integer is divisible by -1.
            return n == -1 || i % n == 0
        case "eq", "equalto", "==": return pyEquals(value, arg)
        case "ne", "!=": return !pyEquals(value, arg)
        case "lt", "lessthan", "<": return try Operators.compare(.lt, value, arg)
        case "le", "<=": return try Operators.compare(.le, value, arg)
        case "gt", "greaterthan", ">": return try Operators.compare(.gt, value, arg)
        case "ge", ">=": return try Operators.compare(.ge, value, arg)
        case "in": return try Operators.contains(arg, value)
        case "sameas":
            switch (value, arg) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            // CPython caches small ints, so `is` holds for equal ones.
            case let (.int(a), .int(b)): return a == b && (-5...256).contains(a)
            case let (.namespace(a), .namespace(b)): return a === b
            case let (.callable(a), .callable(b)): return a === b
            case let (.object(a), .object(b)): return a === b
            default: return false
            }
        case "escaped": return false
        case "filter": if case let .string(s) = value { return Filters.names.contains(s) }; return false
        case "test": if case let .string(s) = value { return names.contains(s) }; return false
        default: throw TemplateError(.runtime, "No test named '\(name)'.")
        }
    }
}
