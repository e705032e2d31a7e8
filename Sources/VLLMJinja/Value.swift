/// A value inside a running template: the Python objects chat templates see (None, bool, int,
/// float, str, list, dict), plus jinja2's `Undefined`, `namespace` objects and callables.
///
/// Lists and dicts are values: the immutable sandbox Hugging Face renders in forbids mutating
/// them, so copy semantics are indistinguishable from Python's references. Tuples are lists.
public enum Value {
    /// jinja2's default `Undefined`; the payload is the message an error about it would carry.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case dict(Dict)
    /// A `namespace(...)` object: the one mutable thing templates have.
    case namespace(Namespace)
    /// Macros, globals such as `range`, bound string methods, `loop(...)`.
    case callable(Callable)
    /// Read-only objects with attributes: `loop`, `cycler`, `joiner`.
    case object(Object)
}

/// An insertion-ordered dict (Python's `dict`), keyed by any hashable-like value with Python's
/// equality (so `1`, `1.0` and `True` are one key).
public struct Dict {
    public private(set) var keys: [Value] = []
    public private(set) var values: [Value] = []
    // Most keys are strings: index those, fall back to a scan for the rest.
    private var stringIndex: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[.string(k)] = v }
    }

    public var count: Int { keys.count }
    public var items: [(key: Value, value: Value)] { Array(zip(keys, values)).map { (key: $0.0, value: $0.1) } }

    func index(of key: Value) -> Int? {
        if case let .string(s) = key { return stringIndex[ScalarKey.of(s)] }
        return keys.firstIndex { if case .string = $0 { return false }; return pyEquals($0, key) }
    }

    public subscript(key: Value) -> Value? {
        get { index(of: key).map { values[$0] } }
        set {
            if let i = index(of: key) {
                if let newValue { values[i] = newValue } else { remove(at: i) }
            } else if let newValue {
                if case let .string(s) = key { stringIndex[ScalarKey.of(s)] = keys.count }
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    public subscript(key: String) -> Value? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    private mutating func remove(at i: Int) {
        keys.remove(at: i)
        values.remove(at: i)
        stringIndex = [:]
        for (j, k) in keys.enumerated() { if case let .string(s) = k { stringIndex[ScalarKey.of(s)] = j } }
    }
}

/// Swift compares `String`s up to canonical equivalence; Python compares code points. Keys are
/// stored escaped into a form where the two agree.
enum ScalarKey {
    static func of(_ s: String) -> String {
        // Plain ASCII cannot be canonically equivalent to anything else.
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return "a" + s }
        return "u" + s.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: ",")
    }
}

/// The object `namespace(...)` returns; `{% set ns.attr = … %}` writes into it from any scope.
public final class Namespace {
    public var attributes: Dict
    public init(_ attributes: Dict = Dict()) { self.attributes = attributes }
}

/// Positional and keyword arguments of a call, as Python passes them.
public struct Arguments {
    public var positional: [Value]
    public var keywords: [(String, Value)]

    public init(_ positional: [Value] = [], keywords: [(String, Value)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    /// The argument at `index`, or passed as `name=`.
    func get(_ index: Int, _ name: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keywords.last { $0.0 == name }?.1
    }

    /// Rejects more positional arguments than `names` or unknown keywords, naming `function`.
    func check(_ function: String, _ names: [String]) throws(TemplateError) {
        if positional.count > names.count {
            throw .type("\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        for (k, _) in keywords where !names.contains(k) {
            throw .type("\(function)() got an unexpected keyword argument '\(k)'")
        }
    }
}

/// Something a template can call.
public final class Callable {
    public let name: String
    let body: (Arguments, Budget) throws(TemplateError) -> Value
    /// Macros render as `<Macro 'name'>`; builtins as Python's `<built-in function name>`.
    let isMacro: Bool
    /// A value the callable holds on to (a bound method's receiver), so nesting checks see it.
    let captured: Value?

    public init(name: String, isMacro: Bool = false, _ body: @escaping (Arguments) throws(TemplateError) -> Value) {
        self.name = name
        self.isMacro = isMacro
        self.captured = nil
        self.body = { (args: Arguments, _: Budget) throws(TemplateError) -> Value in try body(args) }
    }

    /// A callable that works within the render's limits.
    init(name: String, isMacro: Bool = false, captured: Value? = nil,
         limited body: @escaping (Arguments, Budget) throws(TemplateError) -> Value) {
        self.name = name
        self.isMacro = isMacro
        self.captured = captured
        self.body = body
    }

    /// Calls it outside a render, under the default limits.
    public func call(_ args: Arguments) throws(TemplateError) -> Value { try body(args, Budget(.default)) }

    func call(_ args: Arguments, _ budget: Budget) throws(TemplateError) -> Value { try body(args, budget) }
}

/// A read-only object whose attributes are computed on access (the `loop` variable and friends).
public final class Object {
    let typeName: String
    let attribute: (String) throws(TemplateError) -> Value?
    let call: ((Arguments) throws(TemplateError) -> Value)?
    /// Values the object holds on to (a loop's items, a cycler's), so nesting checks see them.
    let captured: Value?

    init(typeName: String, captured: Value? = nil, call: ((Arguments) throws(TemplateError) -> Value)? = nil,
         attribute: @escaping (String) throws(TemplateError) -> Value?) {
        self.typeName = typeName
        self.captured = captured
        self.call = call
        self.attribute = attribute
    }
}

extension Value {
    public var isUndefined: Bool { if case .undefined = self { return true }; return false }
    public var isNone: Bool { if case .none = self { return true }; return false }

    /// Python truthiness (`Undefined` is falsy).
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .float(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .list(a): return !a.isEmpty
        case let .dict(d): return d.count > 0
        case .namespace, .callable, .object: return true
        }
    }

    /// The name Python's `type(x).__name__` gives, used in error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case let .callable(c): return c.isMacro ? "Macro" : "builtin_function_or_method"
        case let .object(o): return o.typeName
        }
    }

    /// jinja2's `object_type_repr`: how "has no attribute" messages name an object.
    var objectTypeRepr: String {
        if case .none = self { return "None" }
        return "\(typeName) object"
    }

    /// The error that using this undefined value in an operation raises.
    var undefinedError: TemplateError {
        if case let .undefined(message) = self { return TemplateError(.undefined, message) }
        return .runtime("internal: not undefined")
    }
}
