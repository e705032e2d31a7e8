import CKernels
import VLLMCompute

/// Decode attention over the paged KV cache timed against the same keys and values stored
/// contiguously (`vllm bench attention`): what reading K/V through a block table costs.
///
/// Both layouts hold identical bits and run the same kernels; only where a position's row is
/// found differs. The paged pool is `poolFactor` times larger than the sequence needs and its
/// blocks are handed out in shuffled order, as in a pool after requests came and went. The
/// contiguous kernel runs once per software-prefetch distance asked for (its best distance
/// depends on where the data sits: none while it fits in L2, some rows ahead from L3), and the
/// paged one is compared with the fastest. Data stay cache-warm across repetitions, which shows
/// the kernels' own cost rather than DRAM's.
public enum AttentionBenchmark {
    /// The attention shape and cache layout measured.
    public struct Shape: Sendable {
        public var headDim: Int
        public var queryHeads: Int
        public var kvHeads: Int
        public var blockSize: Int
        public var dtype: KVCacheDType

        public init(headDim: Int, queryHeads: Int, kvHeads: Int, blockSize: Int, dtype: KVCacheDType) {
            self.headDim = headDim
            self.queryHeads = queryHeads
            self.kvHeads = kvHeads
            self.blockSize = blockSize
            self.dtype = dtype
        }
    }

    /// One context length: seconds per decode step's attention (every KV head), per trial.
    /// Trial i of every layout ran within the same round, back to back.
    public struct Result: Sendable {
        public var context: Int
        public var paged: [Double]
        /// Per software-prefetch distance (rows ahead; 0: none), the contiguous kernel's trials.
        public var contiguous: [(prefetch: Int, seconds: [Double])]
        /// Largest |paged − contiguous| over all output elements and contiguous variants.
        public var maxDifference: Float

        public var pagedMedian: Double { Self.median(paged) }
        /// The fastest contiguous variant (lowest median).
        public var best: (prefetch: Int, seconds: [Double]) {
            contiguous.min { Self.median($0.seconds) < Self.median($1.seconds) }!
        }
        public var contiguousMedian: Double { Self.median(best.seconds) }
        /// paged ÷ fastest contiguous: the median over trial rounds. A round takes milliseconds,
        /// so the machine's speed, which drifts by tens of percent on a shared host, cancels out.
        public var ratio: Double { Self.median(zip(paged, best.seconds).map { $0 / $1 }) }

        public static func median(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    /// Times one decode token's attention at `context` cached positions on this thread:
    /// `trials` rounds of one trial per layout, each about `trialSeconds`, the order rotating
    /// from round to round so that drift in the machine's speed hits every layout alike.
    public static func measure(shape: Shape, context n: Int, contiguousPrefetch: [Int] = [0, 16, 32],
                               poolFactor: Int = 4, trials: Int = 31, trialSeconds: Double = 0.01,
                               seed: UInt64 = 1) -> Result {
        precondition(shape.queryHeads % shape.kvHeads == 0 && n >= 1 && poolFactor >= 1 && trials >= 1)
        precondition(!contiguousPrefetch.isEmpty && contiguousPrefetch.allSatisfy { $0 >= 0 })
        let buffers = Buffers(shape: shape, context: n, poolFactor: poolFactor, seed: seed)
        let layouts: [() -> Void] = [buffers.paged] + contiguousPrefetch.map { p in { buffers.contiguous(prefetch: p) } }
        let clock = ContinuousClock()
        func perCall(_ body: () -> Void, _ reps: Int) -> Double {
            let t0 = clock.now
            for _ in 0..<reps { body() }
            let (s, a) = (clock.now - t0).components
            return (Double(s) + Double(a) * 1e-18) / Double(reps)
        }
        // Warm caches and branch predictors, then size the trials from the fastest layout.
        let single = layouts.map { run in (0..<3).map { _ in perCall(run, 1) }.min()! }.min()!
        let reps = max(1, Int(trialSeconds / max(single, 1e-9)))
        var seconds = [[Double]](repeating: [], count: layouts.count)
        for t in 0..<trials {
            for i in 0..<layouts.count {
                let l = (t + i) % layouts.count
                seconds[l].append(perCall(layouts[l], reps))
            }
        }
        var maxDifference: Float = 0
        for p in contiguousPrefetch {
            buffers.contiguous(prefetch: p)
            maxDifference = max(maxDifference, buffers.maxDifference)
        }
        return Result(context: n, paged: seconds[0],
                      contiguous: contiguousPrefetch.enumerated().map { ($0.element, seconds[$0.offset + 1]) },
                      maxDifference: maxDifference)
    }
}

/// The same K/V values in a shuffled paged pool (PagedKVCache's layout: [block][kvHead][blockSize]
/// [headDim]) and contiguously ([kvHead][position][headDim]), with a query and outputs for each.
private final class Buffers {
    let hd, g, kvHeads, blockSize, n, blockStride, size: Int
    let kvType: Int32
    let scale: Float
    let table: UnsafeMutablePointer<Int32>
    let kPool, vPool, kFlat, vFlat: UnsafeMutableRawPointer
    let q, scores, outPaged, outFlat: UnsafeMutablePointer<Float>

    init(shape: AttentionBenchmark.Shape, context: Int, poolFactor: Int, seed: UInt64) {
        hd = shape.headDim; g = shape.queryHeads / shape.kvHeads; kvHeads = shape.kvHeads
        blockSize = shape.blockSize; n = context; size = shape.dtype.size; kvType = shape.dtype.kernelType
        scale = Float(1 / Double(hd).squareRoot())
        blockStride = kvHeads * blockSize * hd
        let blocks = (n + blockSize - 1) / blockSize, poolBlocks = blocks * poolFactor
        var rng = SplitMix64(seed: seed)
        table = .allocate(capacity: blocks)
        let order = (0..<poolBlocks).map(Int32.init).shuffled(using: &rng)
        for b in 0..<blocks { table[b] = order[b] }
        let poolBytes = poolBlocks * blockStride * size, flatBytes = kvHeads * n * hd * size
        (kPool, vPool) = (.allocate(byteCount: poolBytes, alignment: 64), .allocate(byteCount: poolBytes, alignment: 64))
        (kFlat, vFlat) = (.allocate(byteCount: flatBytes, alignment: 64), .allocate(byteCount: flatBytes, alignment: 64))
        // Every page of the pool touched, as in a pool in use.
        kPool.initializeMemory(as: UInt8.self, repeating: 0, count: poolBytes)
        vPool.initializeMemory(as: UInt8.self, repeating: 0, count: poolBytes)
        q = .allocate(capacity: kvHeads * g * hd)
        for i in 0..<kvHeads * g * hd { q[i] = Float.random(in: -1..<1, using: &rng) }
        scores = .allocate(capacity: g * n)
        outPaged = .allocate(capacity: kvHeads * g * hd)
        outFlat = .allocate(capacity: kvHeads * g * hd)
        var row = [Float](repeating: 0, count: hd)
        for head in 0..<kvHeads {
            for p in 0..<n {
                let paged = Int(table[p / blockSize]) * blockStride + head * blockSize * hd + (p % blockSize) * hd
                let flat = (head * n + p) * hd
                for (pool, contiguous) in [(kPool, kFlat), (vPool, vFlat)] {
                    for d in 0..<hd { row[d] = Float.random(in: -1..<1, using: &rng) }
                    store(row, pool, paged)
                    store(row, contiguous, flat)
                }
            }
        }
    }

    deinit {
        table.deallocate()
        for p in [kPool, vPool, kFlat, vFlat] { p.deallocate() }
        for p in [q, scores, outPaged, outFlat] { p.deallocate() }
    }

    /// Stores one row of floats at element offset `offset`, as the cache's element type.
    private func store(_ row: [Float], _ base: UnsafeMutableRawPointer, _ offset: Int) {
        if size == 4 {
            (base.assumingMemoryBound(to: Float.self) + offset).update(from: row, count: hd)
        } else {
            vk_f32_to_f16(row, base.assumingMemoryBound(to: UInt16.self) + offset, Int64(hd))
        }
    }

    /// One decode step's attention, all KV heads, through the block table as the engine calls it
    /// (the walk over the table happens inside every call, as there).
    func paged() {
        for head in 0..<kvHeads {
            let off = head * blockSize * hd * size
            vk_paged_attention(q + head * g * hd, Int64(g), Int64(hd), kPool + off, vPool + off, kvType, table,
                               Int64(blockSize), Int64(blockStride), 0, Int64(n), scale, 0, nil, scores,
                               outPaged + head * g * hd, nil, nil)
        }
    }

    /// The same over the contiguous copy, prefetching `prefetch` rows ahead (0: none).
    func contiguous(prefetch: Int) {
        for head in 0..<kvHeads {
            let off = head * n * hd * size
            vk_contiguous_attention(q + head * g * hd, Int64(g), Int64(hd), kFlat + off, vFlat + off, kvType,
                                    Int64(hd), Int64(n), Int64(prefetch), scale, 0, nil, scores, outFlat + head * g * hd,
                                    nil, nil)
        }
    }

    /// Largest |paged − contiguous| over the outputs of the last calls of each.
    var maxDifference: Float {
        (0..<kvHeads * g * hd).reduce(0) { max($0, abs(outPaged[$1] - outFlat[$1])) }
    }
}
