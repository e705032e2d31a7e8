import VLLMCompute
@testable import VLLMModels

/// A fake model for scheduler-level differential tests: exact, cheap, and sensitive to every
/// KV mistake. Each position's KV row holds a 64-bit chain value mixed from the previous
/// position's row (read back through the block table) and this token, plus the position; the
/// logits after a position are a pseudo-random function of its chain value over a small set of
/// active tokens (and EOS). A missing, misplaced or stale KV row changes the chain, and so the
/// output; a request's output depends on nothing but its own tokens, whatever the batch.
final class ChainModel: CausalLM, @unchecked Sendable {
    let config: ModelConfig
    let pool = ThreadPool(threadCount: 1)
    var weightBytes: Int { 0 }
    /// The tokens with non-negligible logits.
    let activeTokens: [Int]
    private var buffer: UnsafeMutablePointer<Float>
    private var capacity = 0

    init(vocabSize: Int, activeTokens: [Int]) {
        config = ModelConfig(architecture: "llama", layerCount: 1, hiddenSize: 8, intermediateSize: 8, headCount: 1,
                             kvHeadCount: 1, headDim: 4, vocabSize: vocabSize, contextLength: 4096, rmsNormEps: 1e-5,
                             rope: RopeConfig(freqBase: 10000, dimensionCount: 4), ropeStyle: .rotateHalf)
        self.activeTokens = activeTokens
        buffer = .allocate(capacity: 1)
    }

    deinit { buffer.deallocate() }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits {
        precondition(kv.dtype == .float32, "the chain model keeps exact bits: float32 KV")
        let rows = inputs.reduce(0) { $0 + ($1.needsAllLogits ? $1.tokens.count : $1.needsLogits ? 1 : 0) }
        if rows * config.vocabSize > capacity {
            buffer.deallocate()
            capacity = rows * config.vocabSize
            buffer = .allocate(capacity: capacity)
        }
        let keys = kv.keyBase(layer: 0, kvHead: 0).assumingMemoryBound(to: UInt32.self)
        func row(_ table: [Int32], _ p: Int) -> UnsafeMutablePointer<UInt32> {
            keys + Int(table[p / kv.blockSize]) * kv.blockStride + (p % kv.blockSize) * kv.headDim
        }
        var r = 0
        for input in inputs {
            let table = input.blockTables[0]
            for (j, token) in input.tokens.enumerated() {
                let p = input.firstPosition + j
                var chain: UInt64 = 0x5EED
                if p > 0 {
                    let prev = row(table, p - 1)
                    // A row that is not this sequence's previous position poisons the chain.
                    chain = prev[2] == UInt32(p - 1) ? UInt64(prev[0]) | UInt64(prev[1]) << 32 : 0xBAD
                }
                chain = Self.mix(chain ^ UInt64(token) &* 0x1_0000_0001)
                let out = row(table, p)
                out[0] = UInt32(truncatingIfNeeded: chain)
                out[1] = UInt32(truncatingIfNeeded: chain >> 32)
                out[2] = UInt32(p)
                out[3] = UInt32(token)
                if input.needsAllLogits || (input.needsLogits && j == input.tokens.count - 1) {
                    fillLogits(buffer + r * config.vocabSize, chain)
                    r += 1
                }
            }
        }
        return Logits(base: UnsafePointer(buffer), count: rows, vocabSize: config.vocabSize)
    }

    private func fillLogits(_ out: UnsafeMutablePointer<Float>, _ chain: UInt64) {
        out.update(repeating: -12, count: config.vocabSize)
        var h = chain
        for t in activeTokens {
            h = Self.mix(h)
            out[t] = Float(h >> 40) / Float(1 << 24) * 8 - 4
        }
    }
}
