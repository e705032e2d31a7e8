import VLLMCompute

/// The weights of one decoder layer, used in place from the weight file (vectors — norms and
/// biases — are dequantized to fp32 at load: they are tiny).
struct DecoderLayerWeights: @unchecked Sendable {
    let attnNorm: [Float]
    var q, k, v, o: WeightMatrix
    /// Q/K/V biases (Qwen2), each of the projection's output size; the output's (gpt-oss).
    let qBias, kBias, vBias, oBias: [Float]?
    /// Each query head's attention sink logit (gpt-oss).
    let sinks: [Float]?
    /// Per-head Q/K RMSNorm weights of headDim entries (Qwen3, Gemma 3).
    let qNorm, kNorm: [Float]?
    /// Norm of the attention output before the residual add (Gemma 2/3).
    let postAttnNorm: [Float]?
    let ffnNorm: [Float]
    /// Norm of the MLP output before the residual add (Gemma 2/3).
    let postFFNNorm: [Float]?
    var mlp: MLPWeights
}

/// A layer's MLP: one gated MLP, or a mixture of experts.
enum MLPWeights: @unchecked Sendable {
    case dense(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)
    case experts(FusedMoE)

    /// The matrices the MLP multiplies by (the router included).
    var matrices: [WeightMatrix] {
        switch self {
        case let .dense(gate, up, down): [gate, up, down]
        case let .experts(moe):
            [moe.router] + (moe.experts + (moe.shared.map { [$0.expert] } ?? [])).flatMap { [$0.gate, $0.up, $0.down] }
                + (moe.shared.map { [$0.gate] } ?? [])
        }
    }

    /// The same MLP with every projection matrix replaced by `f` of it (the router stays).
    func mapProjections(_ f: (WeightMatrix) -> WeightMatrix) -> MLPWeights {
        switch self {
        case let .dense(gate, up, down): .dense(gate: f(gate), up: f(up), down: f(down))
        case let .experts(moe):
            .experts(FusedMoE(router: moe.router, experts: moe.experts.map { ExpertWeights(gate: f($0.gate), up: f($0.up), down: f($0.down)) },
                              routing: moe.routing, activation: moe.activation,
                              shared: moe.shared.map { (ExpertWeights(gate: f($0.expert.gate), up: f($0.expert.up), down: f($0.expert.down)), $0.gate) },
                              biases: moe.biases))
        }
    }
}

/// All weights of a decoder-only model, found by role in any `WeightSource`.
struct DecoderWeights: @unchecked Sendable {
    /// The embedding rows of `vocabRows` (all of them, unless tensor-parallel).
    private(set) var embedding: WeightMatrix
    private(set) var vocabRows: Range<Int>
    /// The layers held (a pipeline stage's; all of them otherwise), from `firstLayer` on.
    private(set) var layers: [DecoderLayerWeights]
    let firstLayer: Int
    /// Whether the final norm and LM head are used here (not on a pipeline's earlier stages).
    let holdsHead: Bool
    let outputNorm: [Float]
    /// The LM head; the embedding itself when the model ties them.
    private(set) var output: WeightMatrix
    let ropeFreqFactors: [Float]?
    /// Weights converted at load (`--dtype`), kept alive with the matrices that point into them.
    let converted = ConvertedWeights()

    /// `c` is the whole model's shape; with `shard`, only that rank's part of each weight is
    /// kept (column slices copied, the rest used in place), or, when the source `holdsOnlyShard`
    /// (`ShardedState`), the source's tensors are that part.
    /// `stage`: only that pipeline stage's layers (and the LM head on the last).
    init(source: some WeightSource, config whole: ModelConfig, dtype: ModelDType = .auto,
         shard: TensorParallelShard? = nil, holdsOnlyShard: Bool = false, stage: PipelineStage? = nil) throws(ModelLoadError) {
        let c: ModelConfig
        if let shard, holdsOnlyShard {
            var part = try shard.config(whole, path: source.path)
            part.vocabSize = shard.part(of: whole.vocabSize).count
            c = part
        } else {
            c = whole
        }
        let converted = self.converted
        func matrix(_ role: TensorRole, _ layer: Int = 0, rows: Int, columns: Int) throws(ModelLoadError) -> WeightMatrix {
            try matrix(byName: source.name(role, layer: layer), rows: rows, columns: columns)
        }
        func matrix(byName name: String, rows: Int, columns: Int) throws(ModelLoadError) -> WeightMatrix {
            guard let t = try source.tensor(name) else {
                throw .corrupt(path: source.path, reason: "tensor \(name) is missing")
            }
            guard t.rows == rows, t.columns == columns else {
                throw .corrupt(path: source.path, reason: "tensor \(name) is \(t.rows)×\(t.columns), expected \(rows)×\(columns)")
            }
            guard columns % t.type.blockElements == 0 else {
                throw .corrupt(path: source.path, reason: "tensor \(name) rows of \(columns) are not whole \(t.type) blocks")
            }
            let type = dtype.target(for: t.type)
            let data = type == t.type ? t.data : converted.convert(t, to: type)
            return WeightMatrix(type: type, data: data, rows: rows, columns: columns)
        }
        func vector(_ role: TensorRole, _ layer: Int = 0, count: Int) throws(ModelLoadError) -> [Float] {
            let m = try matrix(role, layer, rows: 1, columns: count)
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                m.dequantizeRow(0, into: buf.baseAddress!)
                n = count
            }
        }
        func optionalVector(_ role: TensorRole, _ layer: Int, count: Int, when on: Bool) throws(ModelLoadError) -> [Float]? {
            on ? try vector(role, layer, count: count) : nil
        }
        func norm(_ role: TensorRole, _ layer: Int = 0, count: Int) throws(ModelLoadError) -> [Float] {
            try vector(role, layer, count: count).map { $0 + c.normWeightOffset }
        }
        func optionalNorm(_ role: TensorRole, _ layer: Int, count: Int, when on: Bool) throws(ModelLoadError) -> [Float]? {
            on ? try norm(role, layer, count: count) : nil
        }
        /// Consecutive row ranges of one stored matrix, used in place (fused projections).
        func split(_ role: TensorRole, _ layer: Int, rows: [Int], columns: Int) throws(ModelLoadError) -> [WeightMatrix] {
            let m = try matrix(role, layer, rows: rows.reduce(0, +), columns: columns)
            var start = 0
            return rows.map { n in
                defer { start += n }
                return WeightMatrix(type: m.type, data: m.data + start * m.rowBytes, rows: n, columns: columns)
            }
        }
        /// A stack of vectors (experts × size), row after row.
        func stackedVector(_ role: TensorRole, _ layer: Int, rows: Int, columns: Int) throws(ModelLoadError) -> [Float] {
            let m = try matrix(role, layer, rows: rows, columns: columns)
            return [Float](unsafeUninitializedCapacity: rows * columns) { buf, n in
                for r in 0..<rows { m.dequantizeRow(r, into: buf.baseAddress! + r * columns) }
                n = rows * columns
            }
        }
        func has(_ role: TensorRole, _ layer: Int = 0) throws(ModelLoadError) -> Bool {
            try source.tensor(source.name(role, layer: layer)) != nil
        }
        let h = c.hiddenSize, f = c.intermediateSize, qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        embedding = try matrix(.embedding, rows: c.vocabSize, columns: h)
        vocabRows = 0..<c.vocabSize
        var layers: [DecoderLayerWeights] = []
        let held = try stage?.layers(of: c.layerCount) ?? 0..<c.layerCount
        firstLayer = held.lowerBound
        holdsHead = stage?.isLast ?? true
        for i in held {
            let qkv = try has(.q, i) ? [try matrix(.q, i, rows: qDim, columns: h), try matrix(.k, i, rows: kvDim, columns: h),
                                         try matrix(.v, i, rows: kvDim, columns: h)]
                                       : try split(.qkv, i, rows: [qDim, kvDim, kvDim], columns: h)
            let mlp: MLPWeights
            if let moe = c.moe {
                let e = moe.experts, fe = moe.intermediateSize
                func projections(_ role: TensorRole, stacked: TensorRole, rows: Int, columns: Int) throws(ModelLoadError) -> [WeightMatrix] {
                    guard source.expertName(role, layer: i, expert: 0) != nil else {
                        return try split(stacked, i, rows: Array(repeating: rows, count: e), columns: columns)
                    }
                    var out: [WeightMatrix] = []
                    for x in 0..<e { out.append(try matrix(byName: source.expertName(role, layer: i, expert: x)!, rows: rows, columns: columns)) }
                    return out
                }
                let gates = try projections(.gate, stacked: .expertsGate, rows: fe, columns: h)
                let ups = try projections(.up, stacked: .expertsUp, rows: fe, columns: h)
                let downs = try projections(.down, stacked: .expertsDown, rows: h, columns: fe)
                var shared: (expert: ExpertWeights, gate: WeightMatrix)?
                if let fs = moe.sharedIntermediateSize {
                    shared = (ExpertWeights(gate: try matrix(.sharedGate, i, rows: fs, columns: h), up: try matrix(.sharedUp, i, rows: fs, columns: h),
                                            down: try matrix(.sharedDown, i, rows: h, columns: fs)),
                              try matrix(.sharedExpertGate, i, rows: 1, columns: h))
                }
                let biases = moe.biases ? MoEBiases(router: try vector(.routerBias, i, count: e),
                                                    gate: try stackedVector(.expertsGateBias, i, rows: e, columns: fe),
                                                    up: try stackedVector(.expertsUpBias, i, rows: e, columns: fe),
                                                    down: try stackedVector(.expertsDownBias, i, rows: e, columns: h)) : nil
                mlp = .experts(FusedMoE(router: try matrix(.router, i, rows: e, columns: h),
                                        experts: (0..<e).map { ExpertWeights(gate: gates[$0], up: ups[$0], down: downs[$0]) },
                                        routing: moe.routing, activation: moe.activation, shared: shared, biases: biases))
            } else {
                let gateUp = try has(.gate, i) ? [try matrix(.gate, i, rows: f, columns: h), try matrix(.up, i, rows: f, columns: h)]
                                               : try split(.gateUp, i, rows: [f, f], columns: h)
                mlp = .dense(gate: gateUp[0], up: gateUp[1], down: try matrix(.down, i, rows: h, columns: f))
            }
            layers.append(DecoderLayerWeights(
                attnNorm: try norm(.attnNorm, i, count: h),
                q: qkv[0], k: qkv[1], v: qkv[2],
                o: try matrix(.o, i, rows: h, columns: qDim),
                qBias: try optionalVector(.qBias, i, count: qDim, when: c.attentionBias),
                kBias: try optionalVector(.kBias, i, count: kvDim, when: c.attentionBias),
                vBias: try optionalVector(.vBias, i, count: kvDim, when: c.attentionBias),
                oBias: try optionalVector(.oBias, i, count: h, when: c.attentionOutputBias),
                sinks: try optionalVector(.sinks, i, count: c.headCount, when: c.attentionSinks),
                qNorm: try optionalNorm(.qNorm, i, count: c.headDim, when: c.qkNorm),
                kNorm: try optionalNorm(.kNorm, i, count: c.headDim, when: c.qkNorm),
                postAttnNorm: try optionalNorm(.postAttnNorm, i, count: h, when: c.sandwichNorms),
                ffnNorm: try norm(c.sandwichNorms ? .preFFNNorm : .ffnNorm, i, count: h),
                postFFNNorm: try optionalNorm(.postFFNNorm, i, count: h, when: c.sandwichNorms),
                mlp: mlp))
        }
        self.layers = layers
        outputNorm = try norm(.outputNorm, count: h)
        let untied = try source.tensor(source.name(.output, layer: 0)) != nil
        output = holdsHead && untied ? try matrix(.output, rows: c.vocabSize, columns: h) : embedding
        ropeFreqFactors = try source.tensor(source.name(.ropeFreqs, layer: 0)) == nil
            ? nil : try vector(.ropeFreqs, count: c.headDim / 2)
        if let shard, shard.size > 1 {
            if holdsOnlyShard { vocabRows = shard.part(of: whole.vocabSize) } else { try keepPart(shard, of: c, source: source) }
        }
    }

    /// Keeps `shard`'s part of every weight (`TensorParallelShard` says which). A row-parallel
    /// split must fall on the quantization blocks of its matrix's type.
    private mutating func keepPart(_ shard: TensorParallelShard, of c: ModelConfig, source: some WeightSource) throws(ModelLoadError) {
        let heads = shard.part(of: c.headCount), (qRows, kvRows, mlpRows) = shard.rows(c)
        func columns(_ m: WeightMatrix, _ range: Range<Int>, _ name: String) throws(ModelLoadError) -> WeightMatrix {
            let e = m.type.blockElements
            guard range.lowerBound % e == 0, range.count % e == 0 else {
                throw .unsupported(path: source.path, reason: "tensor \(name) (\(m.type), blocks of \(e) values) cannot be split by tensor parallel size \(shard.size): each rank's \(range.count) columns are not whole blocks")
            }
            return converted.columns(m, range)
        }
        vocabRows = shard.part(of: c.vocabSize)
        let tied = output.data == embedding.data
        embedding = embedding.rows(vocabRows)
        output = tied ? embedding : output.rows(vocabRows)
        for i in layers.indices {
            let w = layers[i]
            guard case let .dense(gate, up, down) = w.mlp else { preconditionFailure("mixture-of-experts models are refused before loading") }
            layers[i] = DecoderLayerWeights(
                attnNorm: w.attnNorm, q: w.q.rows(qRows), k: w.k.rows(kvRows), v: w.v.rows(kvRows),
                o: try columns(w.o, qRows, source.name(.o, layer: firstLayer + i)),
                qBias: w.qBias.map { Array($0[qRows]) }, kBias: w.kBias.map { Array($0[kvRows]) },
                vBias: w.vBias.map { Array($0[kvRows]) }, oBias: w.oBias, sinks: w.sinks.map { Array($0[heads]) },
                qNorm: w.qNorm, kNorm: w.kNorm, postAttnNorm: w.postAttnNorm, ffnNorm: w.ffnNorm, postFFNNorm: w.postFFNNorm,
                mlp: .dense(gate: gate.rows(mlpRows), up: up.rows(mlpRows),
                            down: try columns(down, mlpRows, source.name(.down, layer: firstLayer + i))))
        }
    }

    /// Repacks every matrix for the int8 kernels where this CPU has them for its type (which,
    /// with the fp32 GEMM on repacked panels, then serve every matmul) and releases the stored
    /// rows' pages: only the repacked copy is read from then on (a tied head's embedding rows
    /// are read again from the file when a token needs them).
    mutating func repack(pool: ThreadPool, source: some WeightSource) {
        func repacked(_ w: WeightMatrix) -> WeightMatrix {
            let r = w.repacked(pool: pool)
            if r.repacked != nil { source.releasePages(w.data, byteCount: w.rows * w.rowBytes) }
            return r
        }
        guard ([output] + layers.flatMap { [$0.q] + $0.mlp.matrices }).contains(where: { RepackedWeight.isPreferred(for: $0.type) }) else { return }
        var progress = ProgressBar("Repacking weights", total: layers.count + 1)
        if holdsHead { output = repacked(output) }
        progress.advance()
        for i in layers.indices {
            for path in [\DecoderLayerWeights.q, \.k, \.v, \.o] {
                layers[i][keyPath: path] = repacked(layers[i][keyPath: path])
            }
            layers[i].mlp = layers[i].mlp.mapProjections(repacked)
            progress.advance()
        }
    }

    /// Bytes of the matrices as the matmuls read them.
    var matrixBytes: Int {
        ([embedding] + (output.data == embedding.data ? [] : [output]) + layers.flatMap { [$0.q, $0.k, $0.v, $0.o] + $0.mlp.matrices })
            .reduce(0) { $0 + $1.rows * $1.rowBytes }
    }
}
