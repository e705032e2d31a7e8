import CKernels
import VLLMCompute

/// PagedAttention on this CPU's threads (CKernels' `vk_paged_attention`).
final class CPUAttentionBackend: AttentionBackend, @unchecked Sendable {
    let pool: ThreadPool
    let headCount, kvHeadCount, headDim: Int
    let scale: Float
    /// 0: no soft-capping.
    let softcap: Float
    /// Attention scores: per thread, one row of `scoresPerThread` per query head of a group.
    private let scores: UnsafeMutablePointer<Float>
    let scoresPerThread: Int
    /// Decode attention split across threads: per (KV head, part), the normalized output of the
    /// part and its score max and exp-sum, for merging.
    private let partialOut, partialMax, partialSum: UnsafeMutablePointer<Float>

    init(config c: ModelConfig, pool: ThreadPool) {
        self.pool = pool
        headCount = c.headCount
        kvHeadCount = c.kvHeadCount
        headDim = c.headDim
        scale = c.attentionScale ?? Float(1 / Double(c.headDim).squareRoot())
        softcap = c.attentionSoftcap ?? 0
        let threads = pool.threadCount
        scoresPerThread = c.contextLength
        scores = .allocate(capacity: threads * c.contextLength * (c.headCount / c.kvHeadCount))
        partialOut = .allocate(capacity: threads * c.headCount * c.headDim)
        partialMax = .allocate(capacity: threads * c.headCount)
        partialSum = .allocate(capacity: threads * c.headCount)
    }

    deinit {
        [scores, partialOut, partialMax, partialSum].forEach { $0.deallocate() }
    }

    func storeKV(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                 tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache) {
        let hd = headDim, kvDim = kvHeadCount * hd, group = kv.layout.group(of: layer)
        for (i, token) in tokens.enumerated() {
            let p = token.position, table = inputs[token.input].blockTables[group]
            let slot = Int(table[p / kv.blockSize]) * kv.blockStride + (p % kv.blockSize) * hd
            for head in 0..<kvHeadCount {
                kv.store(keys + i * kvDim + head * hd, at: kv.keyBase(layer: layer, kvHead: head), offset: slot)
                kv.store(values + i * kvDim + head * hd, at: kv.valueBase(layer: layer, kvHead: head), offset: slot)
            }
        }
    }

    /// A work item is one (token, KV head) pair with its group of query heads, so keys are read
    /// once per group. A lone token (single-sequence decode) has too few pairs to keep every
    /// thread busy, so its positions are split into one part per thread and the parts merged.
    func attend(layer: Int, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache, window: Int?, sinks: [Float]?) {
        precondition(sinks.map { $0.count == headCount } ?? true)
        guard let sinks else {
            return attend(layer: layer, queries: queries, output: output, tokens: tokens, inputs: inputs, kv: kv, window: window, sinkBuffer: nil)
        }
        sinks.withUnsafeBufferPointer {
            attend(layer: layer, queries: queries, output: output, tokens: tokens, inputs: inputs, kv: kv, window: window, sinkBuffer: $0.baseAddress)
        }
    }

    /// `attend` with the sinks (one per query head) as a C array, or nil.
    private func attend(layer: Int, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                        tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache, window: Int?,
                        sinkBuffer: UnsafePointer<Float>?) {
        let hd = headDim, kvHeads = kvHeadCount
        let group = headCount / kvHeads, qDim = headCount * hd
        let scale = self.scale, softcap = self.softcap, tableGroup = kv.layout.group(of: layer)
        let threads = pool.threadCount
        func span(_ position: Int) -> Range<Int> {
            let n = position + 1
            return (window.map { max(0, n - $0) } ?? 0) ..< n
        }
        let parts = tokens.count == 1 && span(tokens[0].position).count >= 64 * threads ? threads : 1
        let scores = self.scores, scoresPerThread = self.scoresPerThread
        let partialOut = self.partialOut, partialMax = self.partialMax, partialSum = self.partialSum
        // Items differ in cost (context lengths differ), so threads claim them one at a time.
        let count = tokens.count * kvHeads * parts
        pool.parallelForDynamic(count, pieces: count) { thread, items in
            let scores = scores + thread * scoresPerThread * group
            for item in items {
                let part = item % parts, pair = item / parts
                let i = pair / kvHeads, kvHead = pair % kvHeads
                let token = tokens[i]
                let s = span(token.position)
                let lo = s.lowerBound + s.count * part / parts, hi = s.lowerBound + s.count * (part + 1) / parts
                let q = queries + i * qDim + kvHead * group * hd
                // Split ranges add the sinks once, when merging.
                let sinks = parts == 1 ? sinkBuffer.map { $0 + kvHead * group } : nil
                inputs[token.input].blockTables[tableGroup].withUnsafeBufferPointer { table in
                    let slot = kvHead * parts + part
                    vk_paged_attention(q, Int64(group), Int64(hd),
                                       kv.keyBase(layer: layer, kvHead: kvHead), kv.valueBase(layer: layer, kvHead: kvHead),
                                       kv.dtype.kernelType, table.baseAddress!, Int64(kv.blockSize), Int64(kv.blockStride),
                                       Int64(lo), Int64(hi - lo), scale, softcap, sinks, scores,
                                       parts == 1 ? output + i * qDim + kvHead * group * hd : partialOut + slot * group * hd,
                                       parts == 1 ? nil : partialMax + slot * group,
                                       parts == 1 ? nil : partialSum + slot * group)
                }
            }
        }
        guard parts > 1 else { return }
        for kvHead in 0..<kvHeads {
            let first = kvHead * parts
            vk_attention_merge(partialOut + first * group * hd, partialMax + first * group,
                               partialSum + first * group, Int64(parts), Int64(group), Int64(hd),
                               sinkBuffer.map { $0 + kvHead * group },
                               output + kvHead * group * hd)
        }
    }
}
