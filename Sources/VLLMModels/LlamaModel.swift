import CKernels
import VLLMCompute

/// A Llama-architecture decoder (SmolLM2, Llama 2/3, Mistral-style GGUFs) computing as faithfully
/// as fp32 on weights used in place (and repacked at load for the int8 kernels): by default
/// matmuls take fp32-faithful activations (`ActivationPrecision.float32`), so results track an
/// exact forward pass to fp32 rounding (`activationPrecision: .int8` trades a little of that for
/// speed).
///
/// With int8 activations the Q/K/V projections, the attention output and the output head still
/// take fp32-faithful ones: Q/K/V and head results go straight into softmaxes (attention scores,
/// next-token probabilities), which magnify small errors most. Measured on the float64 reference
/// prompts (mean KL per step): every matmul in int8 0.0016; all but Q/K/V and the head 0.00095;
/// all but those and the attention output (the FFN only, ~90% of the weights) 0.00088. Two
/// residual int8 terms instead of three for those decode inputs cost 0.0002 more: after two, an
/// outlier's block still leaves its small elements coarse.
///
/// `forward` takes a flat batch: any mix of prefill chunks and single-token decodes of different
/// sequences, each reading and writing the paged KV cache through its block table.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let gguf: GGUFFile
    let weights: LlamaWeights
    let rope: RotaryEmbedding
    let matmul: MatmulRunner
    public var pool: ThreadPool { matmul.pool }
    /// Tokens run through the layers together; larger batches go in chunks of this size.
    public let maxBatchTokens: Int
    let buffers: ForwardBuffers

    public init(gguf: GGUFFile, pool: ThreadPool, maxBatchTokens: Int = 256,
                activationPrecision: ActivationPrecision = .float32) throws(ModelLoadError) {
        self.gguf = gguf
        config = try LlamaConfig(gguf: gguf)
        var weights = try LlamaWeights(gguf: gguf, config: config)
        weights.repack(pool: pool, file: gguf.file)
        self.weights = weights
        rope = RotaryEmbedding(config: config.rope, freqFactors: weights.ropeFreqFactors)
        matmul = MatmulRunner(pool: pool, activationPrecision: activationPrecision)
        self.maxBatchTokens = maxBatchTokens
        buffers = ForwardBuffers(config: config, tokens: maxBatchTokens, threads: pool.threadCount)
    }

    /// Runs every input's new tokens, writing their keys and values into `kv`, and returns the
    /// next-token logits of each input that asked for them, in input order: one row after its
    /// last token, or one after each of its tokens (`needsAllLogits`).
    public func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits {
        for s in inputs {
            precondition(!s.tokens.isEmpty && s.tokens.allSatisfy { (0..<config.vocabSize).contains($0) }, "bad tokens")
            precondition(s.blockTable.count * kv.blockSize >= s.firstPosition + s.tokens.count, "block table too short")
            precondition(s.firstPosition + s.tokens.count <= buffers.scoresPerThread, "sequence longer than the context")
        }
        let h = config.hiddenSize, v = config.vocabSize
        let logitRows = inputs.reduce(0) { $0 + $1.numLogitRows }
        buffers.reserveLogits(rows: logitRows, hidden: h, vocab: v)
        var row = 0
        for chunk in BatchChunk.split(inputs, maxTokens: maxBatchTokens) {
            runLayers(chunk, inputs: inputs, kv: kv)
            var end = 0
            for piece in chunk.pieces {
                end += piece.count
                let rows: Range<Int>
                if inputs[piece.input].needsAllLogits {
                    rows = end - piece.count ..< end
                } else if piece.isLast && inputs[piece.input].needsLogits {
                    rows = end - 1 ..< end
                } else {
                    continue
                }
                for r in rows {
                    weights.outputNorm.withUnsafeBufferPointer {
                        vk_rmsnorm(buffers.x + r * h, $0.baseAddress!, buffers.finalHidden + row * h, Int64(h), config.rmsNormEps)
                    }
                    row += 1
                }
            }
        }
        if logitRows > 0 {
            matmul.run([MatmulJob(weight: weights.output, x: buffers.finalHidden, y: buffers.logits)], m: logitRows, precision: .float32)
        }
        return Logits(base: buffers.logits, count: logitRows, vocabSize: v)
    }

    /// Appends `tokens` to the single sequence in `cache`; returns the logits after the last one.
    public func forward(tokens: [Int], cache: SequenceKVCache) -> [Float] {
        precondition(cache.count + tokens.count <= cache.capacity, "sequence longer than the KV cache")
        let input = SequenceInput(tokens: tokens, firstPosition: cache.count, blockTable: cache.blockTable)
        let logits = forward([input], kv: cache.storage)
        cache.count += tokens.count
        return Array(logits[0])
    }

    private func runLayers(_ chunk: BatchChunk, inputs: [SequenceInput], kv: PagedKVCache) {
        let c = config, b = buffers, h = c.hiddenSize, half = c.headDim / 2
        let t = chunk.tokenCount
        let tokens = chunk.tokens(inputs)
        var i = 0
        for piece in chunk.pieces {
            let s = inputs[piece.input]
            for j in piece.range {
                weights.embedding.dequantizeRow(s.tokens[j], into: b.x + i * h)
                rope.angles(position: s.firstPosition + j, cos: b.cos + i * half, sin: b.sin + i * half)
                i += 1
            }
        }
        let layers = weights.layers
        let lora = Self.loraRows(chunk, inputs: inputs)
        addAndNorm(nil, layers[0].attnNorm, rows: t)
        for (l, w) in layers.enumerated() {
            matmul.run([MatmulJob(weight: w.q, x: b.xn, y: b.q),
                        MatmulJob(weight: w.k, x: b.xn, y: b.k),
                        MatmulJob(weight: w.v, x: b.xn, y: b.v)], m: t, precision: .float32)
            addLoRA(lora, layer: l, [LoRAProduct(target: .qProj, x: b.xn, y: b.q),
                                     LoRAProduct(target: .kProj, x: b.xn, y: b.k),
                                     LoRAProduct(target: .vProj, x: b.xn, y: b.v)])
            storeRotatedKV(layer: l, tokens: tokens, inputs: inputs, kv: kv)
            attention(layer: l, tokens: tokens, inputs: inputs, kv: kv)
            matmul.run([MatmulJob(weight: w.o, x: b.attn, y: b.tmp)], m: t, precision: .float32)
            addLoRA(lora, layer: l, [LoRAProduct(target: .oProj, x: b.attn, y: b.tmp)])
            addAndNorm(b.tmp, w.ffnNorm, rows: t)
            matmul.run([MatmulJob(weight: w.gate, x: b.xn, y: b.gate),
                        MatmulJob(weight: w.up, x: b.xn, y: b.up)], m: t)
            addLoRA(lora, layer: l, [LoRAProduct(target: .gateProj, x: b.xn, y: b.gate),
                                     LoRAProduct(target: .upProj, x: b.xn, y: b.up)])
            let f = c.intermediateSize
            forRows(t) { r in
                let o = r.lowerBound * f
                vk_silu_mul(b.gate + o, b.up + o, b.gate + o, Int64(r.count * f))
            }
            matmul.run([MatmulJob(weight: w.down, x: b.gate, y: b.tmp)], m: t)
            addLoRA(lora, layer: l, [LoRAProduct(target: .downProj, x: b.gate, y: b.tmp)])
            addAndNorm(b.tmp, l + 1 < layers.count ? layers[l + 1].attnNorm : nil, rows: t)
        }
    }

    /// Runs `body` over `0..<rows` split across the pool; few rows stay on the calling thread,
    /// where a dispatch would cost more than it saves.
    func forRows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        if rows < 8 { body(0..<rows); return }
        pool.parallelFor(rows) { _, r in body(r) }
    }

    /// The residual stream step: x += delta (when given), then xn = rmsnorm(x) * norm (when given),
    /// row by row so each row is read once while it is in cache.
    private func addAndNorm(_ delta: UnsafeMutablePointer<Float>?, _ norm: [Float]?, rows: Int) {
        let h = config.hiddenSize, eps = config.rmsNormEps, b = buffers
        forRows(rows) { range in
            for r in range {
                if let delta { vk_axpy_f32(1, delta + r * h, b.x + r * h, Int64(h)) }
                norm?.withUnsafeBufferPointer { vk_rmsnorm(b.x + r * h, $0.baseAddress!, b.xn + r * h, Int64(h), eps) }
            }
        }
    }

    /// Rotates Q and K by position and writes each token's K and V into its slot of the paged cache.
    private func storeRotatedKV(layer: Int, tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache) {
        let c = config, b = buffers, hd = c.headDim, half = hd / 2
        let qDim = c.headCount * hd, kvDim = c.kvHeadCount * hd
        forRows(tokens.count) { range in
            for i in range {
                vk_rope_adjacent(b.q + i * qDim, Int64(c.headCount), Int64(hd), b.cos + i * half, b.sin + i * half)
                vk_rope_adjacent(b.k + i * kvDim, Int64(c.kvHeadCount), Int64(hd), b.cos + i * half, b.sin + i * half)
                let p = tokens[i].position, table = inputs[tokens[i].input].blockTable
                let slot = Int(table[p / kv.blockSize]) * kv.blockStride + (p % kv.blockSize) * hd
                for head in 0..<c.kvHeadCount {
                    kv.store(b.k + i * kvDim + head * hd, at: kv.keyBase(layer: layer, kvHead: head), offset: slot)
                    kv.store(b.v + i * kvDim + head * hd, at: kv.valueBase(layer: layer, kvHead: head), offset: slot)
                }
            }
        }
    }

    /// Causal grouped-query attention of each new token over its sequence's positions up to its
    /// own. A work item is one (token, KV head) pair with its group of query heads, so keys are
    /// read once per group. A lone token (single-sequence decode) has too few pairs to keep every
    /// thread busy, so its positions are split into one part per thread and the parts merged.
    private func attention(layer: Int, tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache) {
        let c = config, b = buffers, hd = c.headDim, kvHeads = c.kvHeadCount
        let group = c.headCount / kvHeads, qDim = c.headCount * hd
        let scale = Float(1 / Double(hd).squareRoot())
        let threads = pool.threadCount
        let parts = tokens.count == 1 && tokens[0].position + 1 >= 64 * threads ? threads : 1
        // Items differ in cost (context lengths differ), so threads claim them one at a time.
        let count = tokens.count * kvHeads * parts
        pool.parallelForDynamic(count, pieces: count) { thread, items in
            let scores = b.scores + thread * b.scoresPerThread * group
            for item in items {
                let part = item % parts, pair = item / parts
                let i = pair / kvHeads, kvHead = pair % kvHeads
                let token = tokens[i]
                let n = token.position + 1
                let lo = n * part / parts, hi = n * (part + 1) / parts
                let q = b.q + i * qDim + kvHead * group * hd
                inputs[token.input].blockTable.withUnsafeBufferPointer { table in
                    let slot = kvHead * parts + part
                    vk_paged_attention(q, Int64(group), Int64(hd),
                                       kv.keyBase(layer: layer, kvHead: kvHead), kv.valueBase(layer: layer, kvHead: kvHead),
                                       kv.dtype.kernelType, table.baseAddress!, Int64(kv.blockSize), Int64(kv.blockStride),
                                       Int64(lo), Int64(hi - lo), scale, scores,
                                       parts == 1 ? b.attn + i * qDim + kvHead * group * hd : b.partialOut + slot * group * hd,
                                       parts == 1 ? nil : b.partialMax + slot * group,
                                       parts == 1 ? nil : b.partialSum + slot * group)
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
}
