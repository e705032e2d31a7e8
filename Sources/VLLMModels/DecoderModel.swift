import CKernels
import VLLMCompute

/// The decoder-only transformer every registered architecture is (Llama, Mistral, Qwen2, Qwen3:
/// RMSNorm, grouped-query attention with RoPE, gated SiLU MLP, plus each one's switches in
/// `ModelConfig`), on weights used in place (and repacked at load for the int8 kernels): by
/// default matmuls take activations as two int8 terms (`ActivationPrecision.float32`), within the
/// fidelity budget of an exact forward pass (`.exact` computes that pass; `.int8` trades more
/// for speed).
///
/// With int8 activations the Q/K/V projections, the attention output and the output head still
/// take the default's two terms: Q/K/V and head results go straight into softmaxes (attention scores,
/// next-token probabilities), which magnify small errors most. Measured on the float64 reference
/// prompts (mean KL per step): every matmul in int8 0.0016; all but Q/K/V and the head 0.00095;
/// all but those and the attention output (the FFN only, ~90% of the weights) 0.00088 with those
/// at three int8 terms, 0.00089 at two.
///
/// `forward` takes a flat batch: any mix of prefill chunks and single-token decodes of different
/// sequences, each reading and writing the paged KV cache through its block table.
public final class DecoderModel: CausalLM, @unchecked Sendable {
    public let config: ModelConfig
    /// The whole model's shape; `config` is this rank's part of it when tensor-parallel.
    public let wholeConfig: ModelConfig
    /// The file or directory the weights came from.
    public let path: String
    public let weightBytes: Int
    /// Holds the mapped files the weight matrices point into.
    let source: any WeightSource
    let weights: DecoderWeights
    let attention: any AttentionBackend
    let rope: RotaryEmbedding
    /// The local (sliding-window) layers' rotary embedding when it differs (Gemma 3).
    let localRope: RotaryEmbedding?
    let matmul: MatmulRunner
    public var pool: ThreadPool { matmul.pool }
    /// Tokens run through the layers together; larger batches go in chunks of this size.
    public let maxBatchTokens: Int
    let buffers: ForwardBuffers
    /// Working memory of the mixture-of-experts layers (shared: layers run one at a time).
    let moeScratch: MoEScratch?
    /// The group this rank computes its part of the model with (`TensorParallelShard`); nil: the
    /// whole model here. `config` is then this rank's shape, the vocabulary excepted.
    let tensorParallel: (any TensorParallelCommunicator)?
    /// The pipeline this rank holds a stage of (`PipelineStage`: its layers; the embedding is
    /// used on the first stage, the LM head on the last); nil: every layer here.
    let pipeline: (any PipelineCommunicator)?
    /// This rank's logits (its vocabulary rows) before they are gathered, then, on rank 0, every
    /// rank's as they arrive; grown on demand.
    private var gatherScratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var gatherScratchCapacity = 1

    /// A GGUF model (`general.architecture` picks the registry entry); `holdsOnlyShard`: the file
    /// is this rank's part of it (`ShardedState`).
    public convenience init(gguf: GGUFFile, pool: ThreadPool, maxBatchTokens: Int = 256,
                            activationPrecision: ActivationPrecision = .float32,
                            dtype: ModelDType = .auto, maxModelLen: Int? = nil,
                            tensorParallel: (any TensorParallelCommunicator)? = nil,
                            holdsOnlyShard: Bool = false, pipeline: (any PipelineCommunicator)? = nil) throws(ModelLoadError) {
        try self.init(config: ModelConfig(gguf: gguf), source: gguf, pool: pool, maxBatchTokens: maxBatchTokens,
                      activationPrecision: activationPrecision, dtype: dtype, maxModelLen: maxModelLen,
                      tensorParallel: tensorParallel, holdsOnlyShard: holdsOnlyShard, pipeline: pipeline)
    }

    /// A Hugging Face checkpoint directory (config.json + safetensors, one file or shards).
    public convenience init(directory: String, pool: ThreadPool, maxBatchTokens: Int = 256,
                            activationPrecision: ActivationPrecision = .float32,
                            dtype: ModelDType = .auto, maxModelLen: Int? = nil,
                            tensorParallel: (any TensorParallelCommunicator)? = nil,
                            pipeline: (any PipelineCommunicator)? = nil) throws(ModelLoadError) {
        let config = try ModelConfig(hfConfigPath: directory + "/config.json")
        try self.init(config: config, source: SafetensorsCheckpoint(directory: directory), pool: pool,
                      maxBatchTokens: maxBatchTokens, activationPrecision: activationPrecision, dtype: dtype,
                      maxModelLen: maxModelLen, tensorParallel: tensorParallel, pipeline: pipeline)
    }

    /// `maxModelLen` below the model's context shortens it: buffers are sized by it, and
    /// LongRoPE picks its factors by it.
    init(config: ModelConfig, source: some WeightSource, pool: ThreadPool, maxBatchTokens: Int,
         activationPrecision: ActivationPrecision, dtype: ModelDType, maxModelLen: Int? = nil,
         tensorParallel: (any TensorParallelCommunicator)? = nil, holdsOnlyShard: Bool = false,
         pipeline: (any PipelineCommunicator)? = nil) throws(ModelLoadError) {
        var config = config
        if let stage = pipeline?.stage, stage.count > config.layerCount {
            // vLLM's check, in its words' spirit: every stage needs a layer.
            throw .unsupported(path: source.path, reason: "pipeline parallel size (\(stage.count)) exceeds the model's \(config.layerCount) layers")
        }
        if let m = maxModelLen, m >= 1 { config.contextLength = min(config.contextLength, m) }
        let shard = tensorParallel.map { TensorParallelShard(rank: $0.rank, size: $0.size) }
        let full = config
        if let shard { config = try shard.config(full, path: source.path) }
        self.config = config
        wholeConfig = full
        self.tensorParallel = tensorParallel
        self.pipeline = pipeline
        self.source = source
        path = source.path
        var weights = try DecoderWeights(source: source, config: full, dtype: dtype, shard: shard, holdsOnlyShard: holdsOnlyShard,
                                         stage: pipeline?.stage)
        weights.repack(pool: pool, source: source)
        self.weights = weights
        weightBytes = max(source.byteCount, weights.matrixBytes)
        rope = RotaryEmbedding(config: config.rope, freqFactors: weights.ropeFreqFactors, contextLength: config.contextLength)
        localRope = config.localRope.map { RotaryEmbedding(config: $0, contextLength: config.contextLength) }
        matmul = MatmulRunner(pool: pool, activationPrecision: activationPrecision)
        attention = CPUAttentionBackend(config: config, pool: pool)
        self.maxBatchTokens = maxBatchTokens
        buffers = ForwardBuffers(config: config, tokens: maxBatchTokens)
        moeScratch = Self.moeScratch(config, rows: maxBatchTokens)
    }

    private static func moeScratch(_ c: ModelConfig, rows: Int) -> MoEScratch? {
        c.moe.map { MoEScratch(maxRows: rows, hidden: c.hiddenSize, intermediate: max($0.intermediateSize, $0.sharedIntermediateSize ?? 0), experts: $0.experts) }
    }

    /// Another instance of `other` over the same weights (a data-parallel replica): its own
    /// threads and working memory, so the two run steps at the same time.
    private init(replicaOf other: DecoderModel, pool: ThreadPool) {
        precondition(other.tensorParallel == nil && other.pipeline == nil, "a tensor- or pipeline-parallel part is not replicated")
        config = other.config
        wholeConfig = other.wholeConfig
        path = other.path
        weightBytes = other.weightBytes
        source = other.source
        weights = other.weights
        rope = other.rope
        localRope = other.localRope
        matmul = MatmulRunner(pool: pool, activationPrecision: other.matmul.activationPrecision)
        attention = CPUAttentionBackend(config: config, pool: pool)
        maxBatchTokens = other.maxBatchTokens
        buffers = ForwardBuffers(config: config, tokens: maxBatchTokens)
        moeScratch = Self.moeScratch(config, rows: maxBatchTokens)
        tensorParallel = nil
        pipeline = nil
    }

    /// A replica on `pool`'s threads sharing this model's weights (mapped and repacked once).
    public func replica(pool: ThreadPool) -> DecoderModel { DecoderModel(replicaOf: self, pool: pool) }

    deinit { gatherScratch.deallocate() }

    public func kvCacheLayout(_ engineLayout: KVCacheLayout) -> KVCacheLayout {
        pipeline == nil ? engineLayout : engineLayout.restricted(to: weights.firstLayer ..< weights.firstLayer + weights.layers.count)
    }

    /// Runs every input's new tokens, writing their keys and values into `kv`, and returns the
    /// next-token logits of each input that asked for them, in input order: one row after its
    /// last token, or one after each of its tokens (`needsAllLogits`).
    public func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits {
        for s in inputs {
            precondition(s.promptEmbeddings.map { $0.hiddenSize == config.hiddenSize } ?? true, "prompt embeddings of the wrong width")
            precondition(!s.tokens.isEmpty && s.tokens.allSatisfy { (0..<config.vocabSize).contains($0) }, "bad tokens")
            precondition(s.blockTables.count == kv.layout.groupCount
                         && s.blockTables.allSatisfy { $0.count * kv.blockSize >= s.firstPosition + s.tokens.count }, "block table too short")
            precondition(s.firstPosition + s.tokens.count <= config.contextLength, "sequence longer than the context")
        }
        let h = config.hiddenSize, v = config.vocabSize
        // Only the last stage of a pipeline computes logits.
        let logitRows = pipeline?.stage.isLast ?? true ? inputs.reduce(0) { $0 + $1.numLogitRows } : 0
        buffers.reserveLogits(rows: logitRows, hidden: h, vocab: v)
        var row = 0
        for chunk in BatchChunk.split(inputs, maxTokens: maxBatchTokens) {
            runLayers(chunk, inputs: inputs, kv: kv)
            guard logitRows > 0 else { continue }
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
            if let tp = tensorParallel {
                gatherLogits(rows: logitRows, tp)
            } else {
                matmul.run([MatmulJob(weight: weights.output, x: buffers.finalHidden, y: buffers.logits)], m: logitRows, precision: .float32)
                if let cap = config.finalLogitSoftcap { vk_softcap(buffers.logits, Int64(logitRows * v), cap) }
            }
        }
        // Only rank 0 of a tensor-parallel group has the logits; a pipeline's last stage sends
        // them to the rank that samples, unless it samples itself.
        let holdsLogits = (tensorParallel?.rank ?? 0) == 0
        if let pipeline, pipeline.sendsLogits, holdsLogits, logitRows > 0 {
            pipeline.sendLogits(buffers.logits, count: logitRows * v)
            return Logits(base: buffers.logits, count: 0, vocabSize: v)
        }
        return Logits(base: buffers.logits, count: holdsLogits ? logitRows : 0, vocabSize: v)
    }

    /// Scores this rank's vocabulary rows and gathers every rank's on rank 0, into the rows of
    /// `buffers.logits`.
    private func gatherLogits(rows: Int, _ tp: any TensorParallelCommunicator) {
        let v = config.vocabSize, mine = weights.vocabRows.count
        let needed = rows * mine + (tp.rank == 0 ? rows * v : 0)
        if gatherScratchCapacity < needed {
            gatherScratch.deallocate()
            gatherScratchCapacity = needed
            gatherScratch = .allocate(capacity: needed)
        }
        let localLogits = gatherScratch
        matmul.run([MatmulJob(weight: weights.output, x: buffers.finalHidden, y: localLogits)], m: rows, precision: .float32)
        if let cap = config.finalLogitSoftcap { vk_softcap(localLogits, Int64(rows * mine), cap) }
        let shard = TensorParallelShard(rank: tp.rank, size: tp.size)
        let parts = (0..<tp.size).map { shard.part(of: v, rank: $0) }
        let bytes = parts.map { rows * $0.count * MemoryLayout<Float>.stride }
        guard tp.rank == 0 else { tp.gather(localLogits, bytes: bytes, into: nil); return }
        // Rank-major blocks (rows × that rank's columns each), then into place row by row.
        let staged = gatherScratch + rows * mine
        tp.gather(localLogits, bytes: bytes, into: staged)
        var offset = 0
        for part in parts {
            for r in 0..<rows {
                (buffers.logits + r * v + part.lowerBound).update(from: staged + offset + r * part.count, count: part.count)
            }
            offset += rows * part.count
        }
    }

    /// The input embeddings the model computes for `tokens` (its embedding rows, scaled as the
    /// architecture scales them): what a `PromptEmbeddings` prompt stands in for.
    public func inputEmbeddings(of tokens: [Int]) -> PromptEmbeddings? {
        let h = config.hiddenSize
        guard tensorParallel == nil, pipeline?.stage.isFirst ?? true, !tokens.isEmpty, tokens.allSatisfy({ (0..<config.vocabSize).contains($0) }) else { return nil }
        var values = [Float](repeating: 0, count: tokens.count * h)
        values.withUnsafeMutableBufferPointer { buf in
            for (i, t) in tokens.enumerated() { weights.embedding.dequantizeRow(t, into: buf.baseAddress! + i * h) }
        }
        if let scale = config.embeddingScale { for i in values.indices { values[i] *= scale } }
        return PromptEmbeddings(rows: tokens.count, hiddenSize: h, values: values)
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
        if let pipeline, !pipeline.stage.isFirst {
            pipeline.receiveFromPreviousStage(b.x, count: t * h)
        } else {
            embed(chunk, inputs: inputs)
        }
        var i = 0
        for piece in chunk.pieces {
            let s = inputs[piece.input]
            for j in piece.range {
                rope.angles(position: s.firstPosition + j, cos: b.cos + i * half, sin: b.sin + i * half)
                localRope?.angles(position: s.firstPosition + j, cos: b.localCos + i * half, sin: b.localSin + i * half)
                i += 1
            }
        }
        let layers = weights.layers
        let lora = Self.loraRows(chunk, inputs: inputs)
        addAndNorm(nil, layers[0].attnNorm, rows: t)
        for (i, w) in layers.enumerated() {
            // Layers by their place in the whole model (a pipeline stage holds some of them).
            let l = weights.firstLayer + i
            matmul.run([MatmulJob(weight: w.q, x: b.xn, y: b.q),
                        MatmulJob(weight: w.k, x: b.xn, y: b.k),
                        MatmulJob(weight: w.v, x: b.xn, y: b.v)], m: t, precision: .float32)
            addLoRA(lora, layer: l, [LoRAProduct(target: .qProj, x: b.xn, y: b.q),
                                     LoRAProduct(target: .kProj, x: b.xn, y: b.k),
                                     LoRAProduct(target: .vProj, x: b.xn, y: b.v)])
            storeRotatedKV(layer: l, w, tokens: tokens, inputs: inputs, kv: kv)
            attention.attend(layer: l, queries: b.q, output: b.attn, tokens: tokens, inputs: inputs, kv: kv,
                             window: c.slidingWindow(layer: l), sinks: w.sinks)
            matmul.run([MatmulJob(weight: w.o, x: b.attn, y: b.tmp)], m: t, precision: .float32)
            addLoRA(lora, layer: l, [LoRAProduct(target: .oProj, x: b.attn, y: b.tmp)])
            tensorParallel?.allReduceSum(b.tmp, count: t * h)
            if let ob = w.oBias { FusedMoE.addRows(ob, offset: 0, width: h, to: b.tmp, rows: t) }
            addAndNorm(b.tmp, normedBy: w.postAttnNorm, w.ffnNorm, rows: t)
            switch w.mlp {
            case let .experts(moe):
                moe.forward(b.xn, rows: t, out: b.tmp, matmul: matmul, scratch: moeScratch!)
            case let .dense(gate, up, down):
                matmul.run([MatmulJob(weight: gate, x: b.xn, y: b.gate), MatmulJob(weight: up, x: b.xn, y: b.up)], m: t)
                addLoRA(lora, layer: l, [LoRAProduct(target: .gateProj, x: b.xn, y: b.gate),
                                         LoRAProduct(target: .upProj, x: b.xn, y: b.up)])
                let f = c.intermediateSize
                let act = c.activation == .silu ? vk_silu_mul : vk_gelu_tanh_mul
                forRows(t) { r in
                    let o = r.lowerBound * f
                    act(b.gate + o, b.up + o, b.gate + o, Int64(r.count * f))
                }
                matmul.run([MatmulJob(weight: down, x: b.gate, y: b.tmp)], m: t)
                addLoRA(lora, layer: l, [LoRAProduct(target: .downProj, x: b.gate, y: b.tmp)])
                tensorParallel?.allReduceSum(b.tmp, count: t * h)
            }
            addAndNorm(b.tmp, normedBy: w.postFFNNorm, i + 1 < layers.count ? layers[i + 1].attnNorm : nil, rows: t)
        }
        if let pipeline, !pipeline.stage.isLast { pipeline.sendToNextStage(b.x, count: t * h) }
    }

    /// The chunk's input rows in `buffers.x`: each token's embedding row (scaled as the
    /// architecture scales it), or the row of its prompt embeddings. A tensor-parallel rank
    /// holds only its vocabulary's rows: the others are zero here and come from the other ranks'
    /// lookups in the sum (adding zeros is exact).
    private func embed(_ chunk: BatchChunk, inputs: [SequenceInput]) {
        let h = config.hiddenSize, b = buffers, vocab = weights.vocabRows
        var i = 0
        for piece in chunk.pieces {
            let s = inputs[piece.input]
            for j in piece.range {
                let position = s.firstPosition + j, row = b.x + i * h
                if let e = s.promptEmbeddings, position < e.rows {
                    if tensorParallel == nil { e.values.withUnsafeBufferPointer { row.update(from: $0.baseAddress! + position * h, count: h) } }
                    else { row.update(repeating: 0, count: h) }
                } else if vocab.contains(s.tokens[j]) {
                    weights.embedding.dequantizeRow(s.tokens[j] - vocab.lowerBound, into: row)
                    if tensorParallel == nil, let scale = config.embeddingScale { for e in 0..<h { row[e] *= scale } }
                } else {
                    row.update(repeating: 0, count: h)
                }
                i += 1
            }
        }
        guard let tp = tensorParallel else { return }
        tp.allReduceSum(b.x, count: chunk.tokenCount * h)
        i = 0
        for piece in chunk.pieces {
            let s = inputs[piece.input]
            for j in piece.range {
                let position = s.firstPosition + j, row = b.x + i * h
                if let e = s.promptEmbeddings, position < e.rows {
                    e.values.withUnsafeBufferPointer { row.update(from: $0.baseAddress! + position * h, count: h) }
                } else if let scale = config.embeddingScale {
                    for e in 0..<h { row[e] *= scale }
                }
                i += 1
            }
        }
    }

    /// Runs `body` over `0..<rows` split across the pool; few rows stay on the calling thread,
    /// where a dispatch would cost more than it saves.
    func forRows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        if rows < 8 { body(0..<rows); return }
        pool.parallelFor(rows) { _, r in body(r) }
    }

    /// The residual stream step: x += delta (when given; normalized first with `deltaNorm` when
    /// that is given), then xn = rmsnorm(x) * norm (when given), row by row so each row is read
    /// once while it is in cache.
    private func addAndNorm(_ delta: UnsafeMutablePointer<Float>?, normedBy deltaNorm: [Float]? = nil, _ norm: [Float]?, rows: Int) {
        let h = config.hiddenSize, eps = config.rmsNormEps, b = buffers
        forRows(rows) { range in
            for r in range {
                if let delta {
                    deltaNorm?.withUnsafeBufferPointer { vk_rmsnorm(delta + r * h, $0.baseAddress!, delta + r * h, Int64(h), eps) }
                    vk_axpy_f32(1, delta + r * h, b.x + r * h, Int64(h))
                }
                norm?.withUnsafeBufferPointer { vk_rmsnorm(b.x + r * h, $0.baseAddress!, b.xn + r * h, Int64(h), eps) }
            }
        }
    }

    /// Finishes Q and K (bias, per-head norm, rotation by position) and V (bias), and writes
    /// each token's K and V into its slot of the paged cache.
    private func storeRotatedKV(layer: Int, _ w: DecoderLayerWeights, tokens: [BatchChunk.Token],
                                inputs: [SequenceInput], kv: PagedKVCache) {
        let c = config, b = buffers, hd = c.headDim, half = hd / 2, eps = c.rmsNormEps
        let qDim = c.headCount * hd, kvDim = c.kvHeadCount * hd
        let rotateHeads = c.ropeStyle == .adjacentPairs ? vk_rope_adjacent : vk_rope_rotate_half
        let local = localRope != nil && c.slidingWindow(layer: layer) != nil
        let cos = local ? b.localCos : b.cos, sin = local ? b.localSin : b.sin
        let rd = c.rope(layer: layer).dimensionCount
        // Partial rotary (Phi-4-mini): only each head's first rd dimensions turn.
        func rotate(_ x: UnsafeMutablePointer<Float>, _ heads: Int, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>) {
            if rd == hd { rotateHeads(x, Int64(heads), Int64(hd), cos, sin); return }
            for h in 0..<heads { rotateHeads(x + h * hd, 1, Int64(rd), cos, sin) }
        }
        forRows(tokens.count) { range in
            for i in range {
                let q = b.q + i * qDim, k = b.k + i * kvDim, v = b.v + i * kvDim
                if let qb = w.qBias, let kb = w.kBias, let vb = w.vBias {
                    vk_axpy_f32(1, qb, q, Int64(qDim))
                    vk_axpy_f32(1, kb, k, Int64(kvDim))
                    vk_axpy_f32(1, vb, v, Int64(kvDim))
                }
                if let qn = w.qNorm, let kn = w.kNorm {
                    for h in 0..<c.headCount { vk_rmsnorm(q + h * hd, qn, q + h * hd, Int64(hd), eps) }
                    for h in 0..<c.kvHeadCount { vk_rmsnorm(k + h * hd, kn, k + h * hd, Int64(hd), eps) }
                }
                rotate(q, c.headCount, cos + i * half, sin + i * half)
                rotate(k, c.kvHeadCount, cos + i * half, sin + i * half)
            }
            attention.storeKV(layer: layer, keys: b.k + range.lowerBound * kvDim, values: b.v + range.lowerBound * kvDim,
                              tokens: Array(tokens[range]), inputs: inputs, kv: kv)
        }
    }
}
