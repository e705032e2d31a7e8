/// The parsed template. Nodes are immutable and carry the line they start on, so runtime errors
/// can point at the template line that caused them.

/// A constant written in the template.
enum Literal: Sendable {
    case none, bool(Bool), int(Int), float(Double), string(String)

    var value: Value {
        switch self {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .float(d): return .float(d)
        case let .string(s): return .string(s)
        }
    }
}

enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**", concat = "~"
}

enum CompareOp: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in", notIn = "not in"
}

/// A call argument: positional, `name=value`, `*list` or `**dict`.
enum Argument: Sendable {
    case positional(Expr)
    case keyword(String, Expr)
    case star(Expr)
    case doubleStar(Expr)
}

/// A filter or test application: `name(args…)`.
struct FilterCall: Sendable {
    let name: String
    let args: [Argument]
    let line: Int
}

final class Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(Literal)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case attribute(Expr, String)
        case item(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case call(Expr, [Argument])
        case filter(Expr, FilterCall)
        case test(Expr, FilterCall, negated: Bool)
        case negate(Expr)
        case plus(Expr)
        case not(Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case binary(BinaryOp, Expr, Expr)
        case compare(Expr, [(CompareOp, Expr)])
        case conditional(test: Expr, then: Expr, otherwise: Expr?)
    }

    let kind: Kind
    let line: Int
    /// Levels of nodes below and including this one: evaluating (and freeing) the tree
    /// recurses this deep, so the parser refuses trees past `Parser.maxNesting`.
    let depth: Int

    init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
        depth = 1 + kind.children.reduce(0) { max($0, $1.depth) }
    }
}

extension Expr.Kind {
    /// The nodes directly below, filter and test arguments included.
    var children: [Expr] {
        func args(_ a: [Argument]) -> [Expr] {
            a.map {
                switch $0 {
                case let .positional(e), let .keyword(_, e), let .star(e), let .doubleStar(e): return e
                }
            }
        }
        switch self {
        case .literal, .name: return []
        case let .list(items), let .tuple(items): return items
        case let .dict(pairs): return pairs.flatMap { [$0.0, $0.1] }
        case let .attribute(e, _), let .negate(e), let .plus(e), let .not(e): return [e]
        case let .item(a, b), let .and(a, b), let .or(a, b), let .binary(_, a, b): return [a, b]
        case let .slice(e, start, stop, step): return [e] + [start, stop, step].compactMap { $0 }
        case let .call(e, a): return [e] + args(a)
        case let .filter(e, f), let .test(e, f, _): return [e] + args(f.args)
        case let .compare(first, ops): return [first] + ops.map(\.1)
        case let .conditional(test, then, otherwise): return [test, then] + (otherwise.map { [$0] } ?? [])
        }
    }
}

/// Where `set` and `for` store values: a name, `ns.attr`, or a tuple of targets to unpack.
indirect enum Target: Sendable {
    case name(String)
    case attribute(Expr, String)
    case tuple([Target])
}

/// A macro's (or call block's) parameters with their default expressions.
struct Parameters: Sendable {
    var names: [String] = []
    var defaults: [Expr?] = []
}

final class Stmt: Sendable {
    enum Kind: Sendable {
        case text(String)
        case output(Expr)
        case ifElse([(test: Expr, body: [Stmt])], otherwise: [Stmt])
        case forLoop(target: Target, iterable: Expr, filter: Expr?, recursive: Bool, body: [Stmt], otherwise: [Stmt])
        case set(Target, Expr)
        case setBlock(Target, filters: [FilterCall], body: [Stmt])
        case macro(name: String, Parameters, body: [Stmt])
        case callBlock(call: Expr, Parameters, body: [Stmt])
        case filterBlock([FilterCall], body: [Stmt])
        case with([(Target, Expr)], body: [Stmt])
        /// HF's `{% generation %}` marks assistant text for masks; it renders its body unchanged.
        case generation([Stmt])
        case breakLoop, continueLoop
    }

    let kind: Kind
    let line: Int

    init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }
}
