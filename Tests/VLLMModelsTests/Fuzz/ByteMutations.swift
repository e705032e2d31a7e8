/// Format-independent corruptions of a file's bytes, and the hostile integers the structured
/// mutations write into count, length, dimension, offset and type fields.
enum ByteMutations {
    /// Values that break size arithmetic: zero, all-ones (-1), just past Int32/UInt32, 2^63, and
    /// small odd values that are not powers of two or valid type ids.
    static let hostile64: [UInt64] = [0, 1, 3, 0xFFFF_FFFF_FFFF_FFFF, 1 << 31, 1 << 32, (1 << 32) - 1,
                                      1 << 63, (1 << 63) - 1, 1 << 40, 1 << 24, 1 << 24 + 1, 100_000_001]
    static let hostile32: [UInt32] = [0, 1, 3, 4, 5, 6, 9, 13, 31, 39, 40, 99, 0xFFFF_FFFF, 1 << 31, (1 << 31) - 1, 1 << 16]

    /// Writes `value` little-endian into `width` bytes at `offset` (bytes past the end are dropped).
    static func write(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<width where offset + i < bytes.count {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    }

    static func read(width: Int, at offset: Int, in bytes: [UInt8]) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<width where offset + i < bytes.count { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        return v
    }

    /// A hostile value for a field of `width` bytes that held `original`: a fixed nasty value,
    /// or the original nudged by one or doubled (off-by-one bounds).
    static func hostile(width: Int, original: UInt64, rng: inout FuzzRandom) -> UInt64 {
        switch rng.below(4) {
        case 0: return original &+ 1
        case 1: return original &- 1
        case 2: return original &* 2
        default: return width == 8 ? rng.pick(hostile64) : UInt64(rng.pick(hostile32))
        }
    }

    /// 1 to 8 random bytes overwritten; within `focus` (when given) half of the time.
    static func flipBytes(_ bytes: inout [UInt8], focus: Range<Int>? = nil, rng: inout FuzzRandom) -> String {
        guard !bytes.isEmpty else { return "flip nothing" }
        var at: [Int] = []
        for _ in 0...rng.below(8) {
            let range = focus.flatMap { rng.chance(50) && !$0.isEmpty ? $0.clamped(to: 0..<bytes.count) : nil } ?? 0..<bytes.count
            let i = range.lowerBound + rng.below(max(range.count, 1))
            bytes[i] = rng.chance(50) ? rng.byte() : bytes[i] ^ (1 << UInt8(rng.below(8)))
            at.append(i)
        }
        return "flip bytes at \(at)"
    }

    /// Cuts the file at a random length (0 too: the parser must refuse an empty file).
    static func truncate(_ bytes: inout [UInt8], rng: inout FuzzRandom) -> String {
        let n = rng.below(bytes.count)
        bytes.removeLast(bytes.count - n)
        return "truncate to \(n) bytes"
    }
}
