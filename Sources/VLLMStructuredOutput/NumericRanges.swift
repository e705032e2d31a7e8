/// Grammars of the decimal texts of numbers within bounds (JSON Schema's `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`), exact: every text they allow is in range and every
/// in-range number has its canonical text allowed. Bounds are whole numbers with at most 17 digits.
enum IntegerRange {
    static let digit = GrammarExpr.charClass(CodePointSet([48...57]))

    /// Integers in `lo...hi` (nil: unbounded), without leading zeros or `-0`.
    static func expr(_ lo: Int?, _ hi: Int?) -> GrammarExpr {
        var options: [GrammarExpr] = []
        if lo == nil || lo! < 0 {
            let mLo = max(1, hi.map { -$0 } ?? 1)
            let mHi = lo.map { -$0 }
            if mHi == nil || mLo <= mHi! { options.append(.sequence([.literal("-"), magnitude(mLo, mHi)])) }
        }
        if hi == nil || hi! >= 0 {
            let a = max(0, lo ?? 0)
            if hi == nil || a <= hi! { options.append(magnitude(a, hi)) }
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    /// Non-negative integers in `a...b` (b nil: unbounded), without leading zeros.
    static func magnitude(_ a: Int, _ b: Int?) -> GrammarExpr {
        var options: [GrammarExpr] = []
        let first = digitCount(a)
        var length = first
        while true {
            if let b, length > digitCount(b) { break }
            if b == nil && length > first {
                options.append(.sequence([.charClass(CodePointSet([49...57])), .repetition(digit, min: length - 1, max: nil)]))
                break
            }
            let lo = length == first ? a : power10(length - 1)
            let hi = b.map { length == digitCount($0) ? $0 : power10(length) - 1 } ?? power10(length) - 1
            options.append(sameLength(Array(String(lo).utf8), Array(String(hi).utf8)))
            length += 1
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    static func digitCount(_ v: Int) -> Int { String(v).count }

    static func power10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }

    /// Digit strings of one length between `x` and `y` (inclusive, `x` ≤ `y`).
    static func sameLength(_ x: [UInt8], _ y: [UInt8]) -> GrammarExpr {
        let n = x.count
        guard n > 0 else { return .empty }
        if x == y { return .bytes(x) }
        let x0 = x[0], y0 = y[0]
        let restX = Array(x.dropFirst()), restY = Array(y.dropFirst())
        if x0 == y0 { return .sequence([.bytes([x0]), sameLength(restX, restY)]) }
        let lowEdgeIsFull = restX.allSatisfy { $0 == 48 }
        let highEdgeIsFull = restY.allSatisfy { $0 == 57 }
        var options: [GrammarExpr] = []
        var midLo = x0 + 1, midHi = y0 - 1
        if lowEdgeIsFull { midLo = x0 } else {
            options.append(.sequence([.bytes([x0]), sameLength(restX, [UInt8](repeating: 57, count: n - 1))]))
        }
        if highEdgeIsFull { midHi = y0 }
        if midLo <= midHi {
            options.append(.sequence([.charClass(CodePointSet([UInt32(midLo)...UInt32(midHi)])), .repetition(digit, min: n - 1, max: n - 1)]))
        }
        if !highEdgeIsFull {
            options.append(.sequence([.bytes([y0]), sameLength([UInt8](repeating: 48, count: n - 1), restY)]))
        }
        return options.count == 1 ? options[0] : .choice(options)
    }
}

/// Numbers (`-`? integer part, optional fraction, no exponent) within whole-number bounds. A text
/// is a sign, a magnitude M and fraction digits F; each bound turns into pieces "M in a range,
/// F any / all zeros / not all zeros" for each sign, and the bounds' pieces are intersected.
enum NumberRange {
    enum Fraction: Equatable { case any, zero, nonzero }
    struct Piece { var lo: Int; var hi: Int?; var fraction: Fraction }
    struct Pieces { var positive: [Piece]; var negative: [Piece] }

    static func expr(_ bounds: [String: Double], fraction: GrammarExpr, fail: (String) -> GrammarError) throws(GrammarError) -> GrammarExpr {
        var all = Pieces(positive: [Piece(lo: 0, hi: nil, fraction: .any)], negative: [Piece(lo: 0, hi: nil, fraction: .any)])
        func apply(_ p: Pieces) {
            all = Pieces(positive: intersect(all.positive, p.positive), negative: intersect(all.negative, p.negative))
        }
        if let v = bounds["minimum"] { apply(atLeast(Int(v), strict: false)) }
        if let v = bounds["exclusiveMinimum"] { apply(atLeast(Int(v), strict: true)) }
        if let v = bounds["maximum"] { apply(atMost(Int(v), strict: false)) }
        if let v = bounds["exclusiveMaximum"] { apply(atMost(Int(v), strict: true)) }
        let digit = IntegerRange.digit
        func text(_ p: Piece) -> GrammarExpr {
            let f: GrammarExpr
            switch p.fraction {
            case .any: f = .optional(fraction)
            case .zero: f = .optional(.sequence([.literal("."), .plus(.literal("0"))]))
            case .nonzero: f = .sequence([.literal("."), .star(digit), .charClass(CodePointSet([49...57])), .star(digit)])
            }
            return .sequence([IntegerRange.magnitude(p.lo, p.hi), f])
        }
        var options = all.positive.map(text)
        options += all.negative.map { GrammarExpr.sequence([.literal("-"), text($0)]) }
        guard !options.isEmpty else { throw fail("the number range is empty") }
        return options.count == 1 ? options[0] : .choice(options)
    }

    /// x ≥ l (x > l when strict).
    static func atLeast(_ l: Int, strict: Bool) -> Pieces {
        var positive: [Piece] = [], negative: [Piece] = []
        if strict {
            if l < 0 {
                positive.append(Piece(lo: 0, hi: nil, fraction: .any))
                negative.append(Piece(lo: 0, hi: -l - 1, fraction: .any))
            } else {
                positive.append(Piece(lo: l + 1, hi: nil, fraction: .any))
                positive.append(Piece(lo: l, hi: l, fraction: .nonzero))
            }
        } else {
            positive.append(Piece(lo: max(l, 0), hi: nil, fraction: .any))
            if l <= 0 {
                if -l - 1 >= 0 { negative.append(Piece(lo: 0, hi: -l - 1, fraction: .any)) }
                negative.append(Piece(lo: -l, hi: -l, fraction: .zero))
            }
        }
        return Pieces(positive: positive, negative: negative)
    }

    /// x ≤ u (x < u when strict): the mirror image of -x ≥ -u.
    static func atMost(_ u: Int, strict: Bool) -> Pieces {
        let m = atLeast(-u, strict: strict)
        return Pieces(positive: m.negative, negative: m.positive)
    }

    static func intersect(_ a: [Piece], _ b: [Piece]) -> [Piece] {
        var out: [Piece] = []
        for p in a {
            for q in b {
                let lo = max(p.lo, q.lo)
                let hi: Int? = switch (p.hi, q.hi) {
                case (nil, nil): nil
                case let (x?, nil), let (nil, x?): x
                case let (x?, y?): min(x, y)
                }
                if let hi, hi < lo { continue }
                let fraction: Fraction
                if p.fraction == .any { fraction = q.fraction }
                else if q.fraction == .any || q.fraction == p.fraction { fraction = p.fraction }
                else { continue }
                out.append(Piece(lo: lo, hi: hi, fraction: fraction))
            }
        }
        return out
    }
}
