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
                     "sequence longer than the KV cache")
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
            cache.key(layer: layer, position: p).update(from: b.k + i * kvDim, count: kvDim)
            cache.value(layer: layer, position: p).update(from: b.v + i * kvDim, count: kvDim)
        }
    }

    /// Causal grouped-query attention of the new tokens over every cached position up to their own.
    private func attention(layer: Int, tokens t: Int, firstPosition: Int, cache: SequenceKVCache) {
        let c = config, b = buffers, hd = c.headDim
        let group = c.headCount / c.kvHeadCount, qDim = c.headCount * hd
        let scale = Float(1 / Double(hd).squareRoot())
        pool.parallelFor(t * c.headCount) { thread, items in
            let scores = b.scores + thread * b.scoresPerThread
            for item in items {
                let i = item / c.headCount, head = item % c.headCount
                let kvOffset = (head / group) * hd
                let q = b.q + i * qDim + head * hd
                let out = b.attn + i * qDim + head * hd
                let n = firstPosition + i + 1
                for j in 0..<n {
                    scores[j] = vk_dot_f32(q, cache.key(layer: layer, position: j) + kvOffset, Int64(hd)) * scale
                }
                vk_softmax(scores, Int64(n))
                out.initialize(repeating: 0, count: hd)
                for j in 0..<n {
                    vk_axpy_f32(scores[j], cache.value(layer: layer, position: j) + kvOffset, out, Int64(hd))
                }
            }
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
