/// The identity of a full KV-cache block's contents: a 128-bit hash chained over the parent
/// block's hash, this block's token ids and an optional extra key (a LoRA adapter name, a cache
/// salt). Two blocks with equal hashes hold the same KV rows, so one can stand in for the other.
///
/// The hash is deterministic across processes (Swift's `Hasher` is randomly seeded per process,
/// which would make cache contents impossible to compare or persist). Two independent 64-bit
/// lanes, each a SplitMix64-style avalanche over the inputs, make an accidental collision
/// (which would silently serve wrong KV rows) negligible: about 2^-64 per pair even if the lanes
/// were correlated, and about 2^-128 when they are not.
public struct BlockHash: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The hash of a block holding `tokenIDs`, whose predecessor in the sequence hashed to
    /// `parent` (nil for the first block).
    public init(parent: BlockHash?, tokenIDs: some Collection<Int>, extraKey: String? = nil) {
        // Distinct seeds and multipliers keep the two lanes independent.
        var a = Lane(state: 0x243F_6A88_85A3_08D3, multiplier: 0x9E37_79B9_7F4A_7C15)
        var b = Lane(state: 0x1319_8A2E_0370_7344, multiplier: 0xC2B2_AE3D_27D4_EB4F)
        func feed(_ v: UInt64) { a.feed(v); b.feed(v) }
        // Tag every field so that, e.g., "no parent" can't alias a parent hashing to (0, 0),
        // and token lists of different lengths can't run into each other.
        if let parent { feed(1); feed(parent.high); feed(parent.low) } else { feed(0) }
        feed(UInt64(tokenIDs.count))
        for t in tokenIDs { feed(UInt64(bitPattern: Int64(t))) }
        if let extraKey {
            feed(2)
            let bytes = Array(extraKey.utf8)
            feed(UInt64(bytes.count))
            for byte in bytes { feed(UInt64(byte)) }
        } else {
            feed(3)
        }
        high = a.finish()
        low = b.finish()
    }

    /// The identity of the same tokens' block in KV cache group `g` (which holds other layers'
    /// KV): the hash itself for the first group.
    public func forGroup(_ g: Int) -> BlockHash {
        g == 0 ? self : BlockHash(parent: self, tokenIDs: [g], extraKey: "kv-cache-group")
    }

    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }

    /// One 64-bit lane: absorbs each value with an add-multiply step and a full avalanche.
    private struct Lane {
        var state: UInt64
        let multiplier: UInt64

        mutating func feed(_ v: UInt64) {
            state = Self.mix((state ^ v) &* multiplier &+ 0x632B_E59B_D9B4_E019)
        }

        func finish() -> UInt64 { Self.mix(state ^ (state >> 29)) }

        /// SplitMix64's finalizer: every input bit affects every output bit.
        static func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
