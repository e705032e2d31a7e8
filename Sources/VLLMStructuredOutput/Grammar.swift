/// A context-free grammar over bytes, the common form every constraint compiles to: JSON
/// schemas, regular expressions, choices and EBNF text all become named rules of these
/// expressions, and `CompiledGrammar` turns them into one automaton per rule.
public struct Grammar: Sendable {
    public struct Rule: Sendable {
        public var name: String
        public var body: GrammarExpr
    }

    public internal(set) var rules: [Rule] = []
    /// The rule a complete output matches.
    public internal(set) var root = 0

    public init() {}

    /// Appends a rule (its body may be filled in later with `setBody`) and returns its index.
    @discardableResult
    mutating func addRule(_ name: String, _ body: GrammarExpr = .empty) -> Int {
        rules.append(Rule(name: name, body: body))
        return rules.count - 1
    }

    mutating func setBody(_ rule: Int, _ body: GrammarExpr) { rules[rule].body = body }

    /// A rule name not used yet, built from `base`.
    func freshName(_ base: String) -> String {
        let used = Set(rules.map(\.name))
        if !used.contains(base) { return base }
        var i = 1
        while used.contains("\(base)_\(i)") { i += 1 }
        return "\(base)_\(i)"
    }
}

/// One grammar expression. Character classes hold Unicode code points and match their UTF-8
/// encodings, so a constraint never splits a character differently from the text it describes.
public indirect enum GrammarExpr: Sendable, Equatable {
    /// These bytes in order; empty matches the empty string.
    case bytes([UInt8])
    /// One code point of the set.
    case charClass(CodePointSet)
    /// The rule with this index.
    case rule(Int)
    case sequence([GrammarExpr])
    case choice([GrammarExpr])
    /// `min` to `max` repetitions (`max` nil: unbounded).
    case repetition(GrammarExpr, min: Int, max: Int?)

    public static let empty = GrammarExpr.bytes([])

    public static func literal(_ s: String) -> GrammarExpr { .bytes(Array(s.utf8)) }
    public static func star(_ e: GrammarExpr) -> GrammarExpr { .repetition(e, min: 0, max: nil) }
    public static func plus(_ e: GrammarExpr) -> GrammarExpr { .repetition(e, min: 1, max: nil) }
    public static func optional(_ e: GrammarExpr) -> GrammarExpr { .repetition(e, min: 0, max: 1) }
    public static func oneOf(_ s: String) -> GrammarExpr { .charClass(CodePointSet(s.unicodeScalars.map { $0.value })) }
}

/// A set of Unicode scalar values as sorted, disjoint, non-adjacent ranges. Surrogates
/// (U+D800–U+DFFF) are never members: UTF-8 cannot encode them.
public struct CodePointSet: Sendable, Equatable, Hashable {
    public static let maxScalar: UInt32 = 0x10FFFF
    public private(set) var ranges: [ClosedRange<UInt32>] = []

    public init() {}

    public init(_ ranges: [ClosedRange<UInt32>]) {
        for r in ranges { insert(r) }
    }

    public init(_ scalars: [UInt32]) { self.init(scalars.map { $0...$0 }) }

    public static let all = CodePointSet([0...maxScalar])

    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ v: UInt32) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].contains(v)
    }

    public mutating func insert(_ r: ClosedRange<UInt32>) {
        let r = r.lowerBound...min(r.upperBound, Self.maxScalar)
        guard r.lowerBound <= r.upperBound else { return }
        // Split around the surrogates.
        if r.lowerBound <= 0xDFFF && r.upperBound >= 0xD800 {
            if r.lowerBound < 0xD800 { insertPlain(r.lowerBound...0xD7FF) }
            if r.upperBound > 0xDFFF { insertPlain(0xE000...r.upperBound) }
            return
        }
        insertPlain(r)
    }

    private mutating func insertPlain(_ r: ClosedRange<UInt32>) {
        var lo = r.lowerBound, hi = r.upperBound
        var out: [ClosedRange<UInt32>] = []
        var placed = false
        for x in ranges {
            if x.upperBound + 1 < lo {
                out.append(x)
            } else if hi + 1 < x.lowerBound {
                if !placed { out.append(lo...hi); placed = true }
                out.append(x)
            } else {
                lo = min(lo, x.lowerBound)
                hi = max(hi, x.upperBound)
            }
        }
        if !placed { out.append(lo...hi) }
        ranges = out
    }

    public func union(_ other: CodePointSet) -> CodePointSet {
        var s = self
        for r in other.ranges { s.insert(r) }
        return s
    }

    /// Every scalar value not in the set.
    public func complement() -> CodePointSet {
        var out = CodePointSet()
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.insert(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= Self.maxScalar { out.insert(next...Self.maxScalar) }
        return out
    }

    /// The set as UTF-8 byte patterns: each element is a sequence of byte ranges, one per byte of
    /// the encoding, and together they match exactly the encodings of the set's members.
    public func utf8Sequences() -> [[ClosedRange<UInt8>]] {
        var out: [[ClosedRange<UInt8>]] = []
        for r in ranges { Self.utf8Split(r.lowerBound, r.upperBound, into: &out) }
        return out
    }

    private static func utf8Split(_ lo: UInt32, _ hi: UInt32, into out: inout [[ClosedRange<UInt8>]]) {
        // Ranges crossing an encoded-length boundary split there first.
        for boundary: UInt32 in [0x7F, 0x7FF, 0xFFFF] where lo <= boundary && hi > boundary {
            utf8Split(lo, boundary, into: &out)
            utf8Split(boundary + 1, hi, into: &out)
            return
        }
        if hi <= 0x7F {
            out.append([UInt8(lo)...UInt8(hi)])
            return
        }
        let length = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4
        // Split until every byte position varies independently: the low 6·i bits of lo must be
        // all zeros and those of hi all ones wherever the higher bits differ.
        for i in 1..<length {
            let m: UInt32 = (1 << (6 * UInt32(i))) - 1
            if lo & ~m != hi & ~m {
                if lo & m != 0 {
                    utf8Split(lo, lo | m, into: &out)
                    utf8Split((lo | m) + 1, hi, into: &out)
                    return
                }
                if hi & m != m {
                    utf8Split(lo, (hi & ~m) - 1, into: &out)
                    utf8Split(hi & ~m, hi, into: &out)
                    return
                }
            }
        }
        let a = encodeUTF8(lo), b = encodeUTF8(hi)
        out.append(zip(a, b).map { $0...$1 })
    }

    /// UTF-8 bytes of a scalar value (surrogates are never passed here).
    static func encodeUTF8(_ v: UInt32) -> [UInt8] {
        switch v {
        case 0..<0x80: return [UInt8(v)]
        case 0x80..<0x800: return [UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F))]
        case 0x800..<0x10000:
            return [UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))]
        default:
            return [UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)),
                    UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))]
        }
    }
}

/// A constraint that cannot be compiled: its text names the problem (and where, for text forms).
public struct GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
