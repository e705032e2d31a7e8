import CKernels
import VLLMCompute

/// A Llama-architecture decoder (SmolLM2, Llama 2/3, Mistral-style GGUFs) computing in fp32 on
/// weights used in place: matmuls dequantize exactly inside the kernels, activations are never
/// quantized, so results track an exact forward pass to fp32 rounding.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let gguf: GGUFFile
    let weights: LlamaWeights
    let rope: RotaryEmbedding
    let matmul: MatmulRunner
    public var pool: ThreadPool { matmul.pool }
    /// Tokens run through the layers together; longer inputs go in chunks of this size.
    public let maxBatchTokens: Int
    private let buffers: ForwardBuffers

    public init(gguf: GGUFFile, pool: ThreadPool, maxBatchTokens: Int = 256) throws(ModelLoadError) {
        self.gguf = gguf
        config = try LlamaConfig(gguf: gguf)
        weights = try LlamaWeights(gguf: gguf, config: config)
        rope = RotaryEmbedding(config: config.rope, freqFactors: weights.ropeFreqFactors)
        matmul = MatmulRunner(pool: pool)
        self.maxBatchTokens = maxBatchTokens
        buffers = ForwardBuffers(config: config, tokens: maxBatchTokens, threads: pool.threadCount)
    }

    /// Appends `tokens` to the sequence in `cache` and returns the next-token logits after the
    /// last one (`config.vocabSize` floats).
    public func forward(tokens: [Int], cache: SequenceKVCache) -> [Float] {
        precondition(!tokens.isEmpty && cache.count + tokens.count <= min(cache.capacity, buffers.scoresPerThread),
                     "sequence longer than the KV cache: \(cache.count) + \(tokens.count) > \(cache.capacity)")
        precondition(tokens.allSatisfy { (0..<config.vocabSize).contains($0) }, "token id out of range")
        var start = 0
        while start < tokens.count {
            let n = min(maxBatchTokens, tokens.count - start)
            runLayers(tokens: tokens[start..<start + n], cache: cache)
            start += n
        }
        return logitsOfLastToken()
    }

    private func runLayers(tokens: ArraySlice<Int>, cache: SequenceKVCache) {
        let c = config, b = buffers, t = tokens.count, h = c.hiddenSize
        for (i, id) in tokens.enumerated() { weights.embedding.dequantizeRow(id, into: b.x + i * h) }
        let firstPosition = cache.count
        for i in 0..<t {
            rope.angles(position: firstPosition + i, cos: b.cos + i * c.headDim / 2, sin: b.sin + i * c.headDim / 2)
        }
        for (l, w) in weights.layers.enumerated() {
            rmsnorm(b.x, w.attnNorm, into: b.xn, rows: t)
            matmul.run([MatmulJob(weight: w.q, x: b.xn, y: b.q),
                        MatmulJob(weight: w.k, x: b.xn, y: b.k),
                        MatmulJob(weight: w.v, x: b.xn, y: b.v)], m: t)
            storeRotatedKV(layer: l, tokens: t, cache: cache)
            attention(layer: l, tokens: t, firstPosition: firstPosition, cache: cache)
            matmul.run([MatmulJob(weight: w.o, x: b.attn, y: b.tmp)], m: t)
            vk_axpy_f32(1, b.tmp, b.x, Int64(t * h))
            rmsnorm(b.x, w.ffnNorm, into: b.xn, rows: t)
            matmul.run([MatmulJob(weight: w.gate, x: b.xn, y: b.gate),
                        MatmulJob(weight: w.up, x: b.xn, y: b.up)], m: t)
            vk_silu_mul(b.gate, b.up, b.gate, Int64(t * c.intermediateSize))
            matmul.run([MatmulJob(weight: w.down, x: b.gate, y: b.tmp)], m: t)
            vk_axpy_f32(1, b.tmp, b.x, Int64(t * h))
        }
        cache.count += t
        b.lastRows = t
    }

    private func rmsnorm(_ x: UnsafeMutablePointer<Float>, _ w: [Float], into out: UnsafeMutablePointer<Float>, rows: Int) {
        let h = config.hiddenSize, eps = config.rmsNormEps
        w.withUnsafeBufferPointer { wp in
            for r in 0..<rows { vk_rmsnorm(x + r * h, wp.baseAddress!, out + r * h, Int64(h), eps) }
        }
    }

    private func storeRotatedKV(layer: Int, tokens t: Int, cache: SequenceKVCache) {
        let c = config, b = buffers, half = c.headDim / 2
        let qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        for i in 0..<t {
            vk_rope_adjacent(b.q + i * qDim, Int64(c.headCount), Int64(c.headDim), b.cos + i * half, b.sin + i * half)
            vk_rope_adjacent(b.k + i * kvDim, Int64(c.kvHeadCount), Int64(c.headDim), b.cos + i * half, b.sin + i * half)
            let p = cache.count + i
            for head in 0..<c.kvHeadCount {
                let src = i * kvDim + head * c.headDim
                (cache.keys(layer: layer, kvHead: head) + p * c.headDim).update(from: b.k + src, count: c.headDim)
                (cache.values(layer: layer, kvHead: head) + p * c.headDim).update(from: b.v + src, count: c.headDim)
            }
        }
    }

    /// Causal grouped-query attention of the new tokens over every cached position up to their
    /// own. A work item is one (token, KV head) pair with its group of query heads, so keys are
    /// read once per group. A single token (decode) has too few pairs to keep every thread busy,
    /// so its positions are split into one part per thread and the parts merged.
    private func attention(layer: Int, tokens t: Int, firstPosition: Int, cache: SequenceKVCache) {
        let c = config, b = buffers, hd = c.headDim, kvHeads = c.kvHeadCount
        let group = c.headCount / kvHeads, qDim = c.headCount * hd
        let scale = Float(1 / Double(hd).squareRoot())
        let threads = pool.threadCount
        let parts = t == 1 && firstPosition + 1 >= 64 * threads ? threads : 1
        pool.parallelFor(t * kvHeads * parts) { thread, items in
            let scores = b.scores + thread * b.scoresPerThread * group
            for item in items {
                let part = item % parts, pair = item / parts
                let i = pair / kvHeads, kvHead = pair % kvHeads
                let n = firstPosition + i + 1
                let lo = n * part / parts, hi = n * (part + 1) / parts
                let q = b.q + i * qDim + kvHead * group * hd
                let k = cache.keys(layer: layer, kvHead: kvHead) + lo * hd
                let v = cache.values(layer: layer, kvHead: kvHead) + lo * hd
                if parts == 1 {
                    vk_attention(q, Int64(group), Int64(hd), k, v, Int64(hd), Int64(hi - lo), scale, scores,
                                 b.attn + i * qDim + kvHead * group * hd, nil, nil)
                } else {
                    let slot = kvHead * parts + part
                    vk_attention(q, Int64(group), Int64(hd), k, v, Int64(hd), Int64(hi - lo), scale, scores,
                                 b.partialOut + slot * group * hd, b.partialMax + slot * group, b.partialSum + slot * group)
                }
            }
        }
        guard parts > 1 else { return }
        for kvHead in 0..<kvHeads {
            let first = kvHead * parts
            vk_attention_merge(b.partialOut + first * group * hd, b.partialMax + first * group,
                               b.partialSum + first * group, Int64(parts), Int64(group), Int64(hd),
                               b.attn + kvHead * group * hd)
        }
    }

    private func logitsOfLastToken() -> [Float] {
        let b = buffers, h = config.hiddenSize
        let last = b.x + (b.lastRows - 1) * h
        weights.outputNorm.withUnsafeBufferPointer { vk_rmsnorm(last, $0.baseAddress!, b.xn, Int64(h), config.rmsNormEps) }
        return [Float](unsafeUninitializedCapacity: config.vocabSize) { buf, n in
            matmul.run([MatmulJob(weight: weights.output, x: b.xn, y: buf.baseAddress!)], m: 1)
            n = config.vocabSize
        }
    }
}
