import VLLMCompute

/// The weights of one decoder layer, used in place from the GGUF mapping (norm vectors are
/// dequantized to fp32 at load: they are tiny).
struct LlamaLayerWeights: @unchecked Sendable {
    let attnNorm: [Float]
    var q, k, v, o: WeightMatrix
    let ffnNorm: [Float]
    var gate, up, down: WeightMatrix
}

/// All weights of a Llama-architecture model, bound to the GGUF tensor names llama.cpp uses.
struct LlamaWeights: @unchecked Sendable {
    let embedding: WeightMatrix
    private(set) var layers: [LlamaLayerWeights]
    let outputNorm: [Float]
    /// The LM head; the embedding itself when the model ties them.
    private(set) var output: WeightMatrix
    let ropeFreqFactors: [Float]?

    init(gguf: GGUFFile, config c: LlamaConfig) throws(ModelLoadError) {
        func matrix(_ name: String, rows: Int, columns: Int) throws(ModelLoadError) -> WeightMatrix {
            guard let t = gguf.tensor(named: name) else {
                throw .corrupt(path: gguf.path, reason: "tensor \(name) is missing")
            }
            guard t.shape == [columns, rows] || (rows == 1 && t.shape == [columns]) else {
                throw .corrupt(path: gguf.path, reason: "tensor \(name) has shape \(t.shape), expected [\(columns), \(rows)]")
            }
            return WeightMatrix(type: t.type, data: gguf.data(of: t), rows: rows, columns: columns)
        }
        func vector(_ name: String, count: Int) throws(ModelLoadError) -> [Float] {
            let m = try matrix(name, rows: 1, columns: count)
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                m.dequantizeRow(0, into: buf.baseAddress!)
                n = count
            }
        }
        let h = c.hiddenSize, qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        embedding = try matrix("token_embd.weight", rows: c.vocabSize, columns: h)
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            layers.append(LlamaLayerWeights(
                attnNorm: try vector(p + "attn_norm.weight", count: h),
                q: try matrix(p + "attn_q.weight", rows: qDim, columns: h),
                k: try matrix(p + "attn_k.weight", rows: kvDim, columns: h),
                v: try matrix(p + "attn_v.weight", rows: kvDim, columns: h),
                o: try matrix(p + "attn_output.weight", rows: h, columns: qDim),
                ffnNorm: try vector(p + "ffn_norm.weight", count: h),
                gate: try matrix(p + "ffn_gate.weight", rows: c.intermediateSize, columns: h),
                up: try matrix(p + "ffn_up.weight", rows: c.intermediateSize, columns: h),
                down: try matrix(p + "ffn_down.weight", rows: h, columns: c.intermediateSize)))
        }
        self.layers = layers
        outputNorm = try vector("output_norm.weight", count: h)
        output = gguf.tensor(named: "output.weight") == nil
            ? embedding : try matrix("output.weight", rows: c.vocabSize, columns: h)
        ropeFreqFactors = gguf.tensor(named: "rope_freqs.weight") == nil
            ? nil : try vector("rope_freqs.weight", count: c.headDim / 2)
    }

    /// Repacks every matrix for the int8 kernels (which, with the fp32 GEMM on repacked panels,
    /// then serve every matmul) and releases the stored rows' pages of `file`: only the repacked
    /// copy is read from then on (a tied head's embedding rows are read again from the file when
    /// a token needs them).
    mutating func repack(pool: ThreadPool, file: MappedFile) {
        func repacked(_ w: WeightMatrix) -> WeightMatrix {
            let r = w.repacked(pool: pool)
            if r.repacked != nil { file.releasePages(w.data, byteCount: w.rows * w.rowBytes) }
            return r
        }
        var progress = ProgressBar("Repacking weights", total: layers.count + 1)
        output = repacked(output)
        progress.advance()
        for i in layers.indices {
            for path in [\LlamaLayerWeights.q, \.k, \.v, \.o, \.gate, \.up, \.down] {
                layers[i][keyPath: path] = repacked(layers[i][keyPath: path])
            }
            progress.advance()
        }
    }
}
