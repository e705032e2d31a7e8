/// Grammars of the decimal texts of numbers within bounds (JSON Schema's `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`), exact: every text they allow is in range and every
/// in-range number has its canonical text allowed.

/// Integers in a range; bounds have at most 17 digits.
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

/// Numbers (`-`? integer part, optional fraction, no exponent) within decimal bounds. A text is a
/// sign, a magnitude M and fraction digits F; each bound turns into pieces "M in a range, 0.F
/// within fraction bounds" for each sign, and the bounds' pieces are intersected. Bounds compare
/// in exact decimal arithmetic against the shortest decimal text of the bound's Double (the
/// digits the schema's author wrote).
enum NumberRange {
    /// One end of an interval of fraction values 0.F: its digits (ASCII) and whether it is open.
    struct Edge: Equatable { var digits: [UInt8]; var strict: Bool }
    /// 0.F ≥ lower (> when strict) and 0.F ≤ upper (< when strict); nil: unbounded (0 ≤ 0.F < 1).
    struct FractionBounds: Equatable { var lower: Edge?; var upper: Edge?; static let any = FractionBounds() }
    struct Piece { var lo: Int; var hi: Int?; var fraction: FractionBounds }
    struct Pieces { var positive: [Piece]; var negative: [Piece] }

    static func expr(_ bounds: [String: DecimalBound], fail: (String) -> GrammarError) throws(GrammarError) -> GrammarExpr {
        var all = Pieces(positive: [Piece(lo: 0, hi: nil, fraction: .any)], negative: [Piece(lo: 0, hi: nil, fraction: .any)])
        func apply(_ p: Pieces) {
            all = Pieces(positive: intersect(all.positive, p.positive), negative: intersect(all.negative, p.negative))
        }
        if let v = bounds["minimum"] { apply(atLeast(v, strict: false)) }
        if let v = bounds["exclusiveMinimum"] { apply(atLeast(v, strict: true)) }
        if let v = bounds["maximum"] { apply(atMost(v, strict: false)) }
        if let v = bounds["exclusiveMaximum"] { apply(atMost(v, strict: true)) }
        func text(_ p: Piece) -> GrammarExpr? {
            fractionText(p.fraction).map { .sequence([IntegerRange.magnitude(p.lo, p.hi), $0]) }
        }
        var options = all.positive.compactMap(text)
        options += all.negative.compactMap(text).map { GrammarExpr.sequence([.literal("-"), $0]) }
        guard !options.isEmpty else { throw fail("the number range is empty") }
        return options.count == 1 ? options[0] : .choice(options)
    }

    /// x ≥ v (x > v when strict).
    static func atLeast(_ v: DecimalBound, strict: Bool) -> Pieces {
        if v.negative {
            return Pieces(positive: [Piece(lo: 0, hi: nil, fraction: .any)], negative: magnitude(atMost: v, strict: strict))
        }
        // A negative text is at least a non-negative bound only as -0 against 0.
        let negativeZero = Piece(lo: 0, hi: 0, fraction: FractionBounds(upper: Edge(digits: [], strict: false)))
        return Pieces(positive: magnitude(atLeast: v, strict: strict), negative: v.isZero && !strict ? [negativeZero] : [])
    }

    /// x ≤ u (x < u when strict): the mirror image of -x ≥ -u.
    static func atMost(_ u: DecimalBound, strict: Bool) -> Pieces {
        let m = atLeast(u.negated, strict: strict)
        return Pieces(positive: m.negative, negative: m.positive)
    }

    static func magnitude(atLeast v: DecimalBound, strict: Bool) -> [Piece] {
        [Piece(lo: v.whole + 1, hi: nil, fraction: .any),
         Piece(lo: v.whole, hi: v.whole, fraction: FractionBounds(lower: Edge(digits: v.fraction, strict: strict)))]
    }

    static func magnitude(atMost v: DecimalBound, strict: Bool) -> [Piece] {
        (v.whole > 0 ? [Piece(lo: 0, hi: v.whole - 1, fraction: .any)] : [])
            + [Piece(lo: v.whole, hi: v.whole, fraction: FractionBounds(upper: Edge(digits: v.fraction, strict: strict)))]
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
                let fraction = FractionBounds(lower: tighter(p.fraction.lower, q.fraction.lower, keepGreater: true),
                                              upper: tighter(p.fraction.upper, q.fraction.upper, keepGreater: false))
                out.append(Piece(lo: lo, hi: hi, fraction: fraction))
            }
        }
        return out
    }

    static func tighter(_ a: Edge?, _ b: Edge?, keepGreater: Bool) -> Edge? {
        guard let a else { return b }
        guard let b else { return a }
        let c = compare(a.digits, b.digits)
        if c == 0 { return Edge(digits: a.digits, strict: a.strict || b.strict) }
        return (c > 0) == keepGreater ? a : b
    }

    /// Compares 0.a with 0.b.
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 48, y = i < b.count ? b[i] : 48
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    /// What follows the magnitude: nothing or `.` and digits F, with 0.F within the bounds; nil if
    /// no fraction is.
    static func fractionText(_ bounds: FractionBounds) -> GrammarExpr? {
        let (empty, nonEmpty) = digitStrings(bounds)
        switch (empty, nonEmpty) {
        case let (true, rest?): return .optional(.sequence([.literal("."), rest]))
        case (true, nil): return .empty
        case let (false, rest?): return .sequence([.literal("."), rest])
        case (false, nil): return nil
        }
    }

    /// The digit strings F with 0.F within the bounds: whether the empty one is among them, and a
    /// grammar of the others. Each step reads one digit and narrows the bounds to the rest.
    static func digitStrings(_ bounds: FractionBounds) -> (empty: Bool, nonEmpty: GrammarExpr?) {
        let isZero = { (e: Edge) in e.digits.allSatisfy { $0 == 48 } }
        var lower = bounds.lower, upper = bounds.upper
        if let l = lower, isZero(l), !l.strict { lower = nil }
        if let l = lower, let u = upper {
            let c = compare(l.digits, u.digits)
            if c > 0 || (c == 0 && (l.strict || u.strict)) { return (false, nil) }
        }
        if let u = upper, isZero(u), u.strict { return (false, nil) }
        let digit = IntegerRange.digit
        let lowerIsZero = lower.map(isZero) ?? false, upperIsZero = upper.map(isZero) ?? false
        switch (lower, upper) {
        case (nil, nil): return (true, .plus(digit))
        case (_?, nil) where lowerIsZero:
            return (false, .sequence([.star(.literal("0")), .charClass(CodePointSet([49...57])), .star(digit)]))
        case (nil, _?) where upperIsZero: return (true, .plus(.literal("0")))
        default: break
        }
        func step(_ f: UInt8) -> FractionBounds? {
            var next = FractionBounds()
            if let l = lower {
                let d = l.digits.first ?? 48
                if f < d { return nil }
                next.lower = f > d ? nil : Edge(digits: Array(l.digits.dropFirst()), strict: l.strict)
            }
            if let u = upper {
                let e = u.digits.first ?? 48
                if f > e { return nil }
                next.upper = f < e ? nil : Edge(digits: Array(u.digits.dropFirst()), strict: u.strict)
            }
            return next
        }
        var options: [GrammarExpr] = []
        var f: UInt8 = 48
        while f <= 57 {
            guard let next = step(f) else { f += 1; continue }
            var last = f
            while last < 57, step(last + 1) == next { last += 1 }
            let head = GrammarExpr.charClass(CodePointSet([UInt32(f)...UInt32(last)]))
            switch digitStrings(next) {
            case let (true, rest?): options.append(.sequence([head, .optional(rest)]))
            case (true, nil): options.append(head)
            case let (false, rest?): options.append(.sequence([head, rest]))
            case (false, nil): break
            }
            f = last + 1
        }
        // 0.F = 0 is within the bounds now exactly when there is no lower bound left.
        return (lower == nil, options.isEmpty ? nil : options.count == 1 ? options[0] : .choice(options))
    }
}

/// A finite number as sign, whole part and fraction digits without trailing zeros (ASCII), read
/// from the shortest decimal text that gives back the same Double.
struct DecimalBound {
    var negative: Bool
    var whole: Int
    var fraction: [UInt8]

    var isZero: Bool { whole == 0 && fraction.isEmpty }
    var negated: DecimalBound { DecimalBound(negative: isZero ? false : !negative, whole: whole, fraction: fraction) }

    init(negative: Bool, whole: Int, fraction: [UInt8]) {
        self.negative = negative; self.whole = whole; self.fraction = fraction
    }

    /// nil when `x` is not finite, its magnitude is 1e17 or more, or it has more than
    /// `maxFractionDigits` decimal places.
    init?(_ x: Double, maxFractionDigits: Int = 20) {
        guard x.isFinite, x.magnitude < 1e17 else { return nil }
        // Swift prints the shortest round-trip text: "12.5", "1e-05", "1.5e+16".
        let text = x.magnitude.description
        let parts = text.split(separator: "e")
        let mantissa = parts[0]
        var point = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        if parts.count > 1 { guard let e = Int(parts[1]) else { return nil }; point += e }
        var digits = Array(mantissa.utf8.filter { $0 != 46 })
        if point < 0 { digits = [UInt8](repeating: 48, count: -point) + digits; point = 0 }
        if point > digits.count { digits += [UInt8](repeating: 48, count: point - digits.count) }
        var fraction = Array(digits[point...])
        while fraction.last == 48 { fraction.removeLast() }
        guard fraction.count <= maxFractionDigits else { return nil }
        self.negative = x < 0
        self.whole = digits[..<point].reduce(0) { $0 * 10 + Int($1 - 48) }
        self.fraction = fraction
    }
}
