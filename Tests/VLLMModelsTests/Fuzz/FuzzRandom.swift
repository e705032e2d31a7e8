import VLLMCompute

/// The fuzzers' random source: SplitMix64, seeded per case so any one case can be replayed alone.
struct FuzzRandom {
    private var g: SplitMix64

    init(seed: UInt64, format: String, index: Int) {
        // FNV-1a of the format name keeps formats apart when they share a case index.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in format.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        g = SplitMix64(seed: seed ^ h ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
    }

    mutating func next() -> UInt64 { g.next() }
    /// Uniform in 0..<n (n > 0); the modulo bias is irrelevant here.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}
