import Foundation

/// Sharded state (vLLM's `--load-format sharded_state` and its `save_sharded_state` example):
/// a GGUF model saved as one file per rank of a model's group (tensor-parallel ranks, within
/// pipeline stages), each holding that rank's part of every weight of its stage's layers, so that
/// a rank maps only its own file and copies nothing at load (the row-parallel matrices' column
/// slices are contiguous there). Each file is a GGUF file of its own (ggml's docs/gguf.md,
/// version 3): the model's metadata (tokenizer included) with the group's sizes, the rank and
/// the stage's layers added, and the rank's tensors under the model's tensor names with their
/// sliced shapes and unchanged types. The tensors outside the layers (embedding, final norm, LM
/// head) are in every stage's file.
public enum ShardedState {
    static let sizeKey = "swift_vllm.tensor_parallel.size"
    static let rankKey = "swift_vllm.tensor_parallel.rank"
    static let stagesKey = "swift_vllm.pipeline_parallel.size"
    static let firstLayerKey = "swift_vllm.pipeline_parallel.first_layer"
    static let layerCountKey = "swift_vllm.pipeline_parallel.layer_count"

    /// vLLM's file name pattern (one part per rank here; ranks numbered as vLLM numbers them,
    /// tensor-parallel innermost: rank = stage × size + tensor-parallel rank).
    public static func fileName(rank: Int) -> String { "model-rank-\(rank)-part-0.gguf" }

    /// Writes `model`'s parts for `stages` pipeline stages (split as `partition` says, vLLM's
    /// even split when nil) of `size` tensor-parallel ranks each into `directory` (created if
    /// need be).
    public static func save(_ model: GGUFFile, size: Int, stages: Int = 1, partition: [Int]? = nil, to directory: String,
                            progress: (Int) -> Void = { _ in }) throws(ModelLoadError) {
        let config = try ModelConfig(gguf: model)
        guard stages <= config.layerCount else {
            throw .unsupported(path: model.path, reason: "pipeline parallel size (\(stages)) exceeds the model's \(config.layerCount) layers")
        }
        // Every rank's part is planned before anything is written: a refusal leaves no files.
        let plans = try (0..<stages * size).map { (rank) throws(ModelLoadError) -> (pieces: [Piece], layers: Range<Int>) in
            let shard = TensorParallelShard(rank: rank % size, size: size)
            _ = try shard.config(config, path: model.path)  // refuses what cannot be split, in vLLM's words
            let layers = try PipelineStage(index: rank / size, count: stages, partition: partition).layers(of: config.layerCount)
            return (try plan(model, config: config, shard: shard).filter { layer(of: $0.name).map(layers.contains) ?? true }, layers)
        }
        for (rank, plan) in plans.enumerated() {
            let ours = [sizeKey, rankKey, stagesKey, firstLayerKey, layerCountKey]
            var metadata = model.metadata.filter { !ours.contains($0.key) }
            metadata[sizeKey] = .uint32(UInt32(size))
            metadata[rankKey] = .uint32(UInt32(rank))
            if stages > 1 {
                metadata[stagesKey] = .uint32(UInt32(stages))
                metadata[firstLayerKey] = .uint32(UInt32(plan.layers.lowerBound))
                metadata[layerCountKey] = .uint32(UInt32(plan.layers.count))
            }
            if let arch = model.metadata["general.architecture"]?.string { metadata["\(arch).vocab_size"] = .uint32(UInt32(config.vocabSize)) }
            try write(plan.pieces, metadata: metadata.sorted { $0.key < $1.key }, alignment: model.alignment,
                      to: directory + "/" + fileName(rank: rank), source: model)
            progress(rank + 1)
        }
    }

    /// The layer a GGUF tensor belongs to ("blk.N."), nil for the tensors outside the layers.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0 != "." })
    }

    /// Rank `rank`'s file of a group of `size` tensor-parallel ranks per stage (of `stage`'s
    /// pipeline, if any) in `directory`, checked to be that rank's part.
    public static func open(directory: String, rank: Int, size: Int, stage: PipelineStage? = nil) throws(ModelLoadError) -> GGUFFile {
        let path = directory + "/" + fileName(rank: rank)
        let stages = stage?.count ?? 1
        guard FileManager.default.fileExists(atPath: path) else {
            let flags = "--tensor-parallel-size \(size)" + (stages > 1 ? " --pipeline-parallel-size \(stages)" : "")
            throw .cannotOpen(path: path, reason: "no such file: --load-format sharded_state takes a directory written by `vllm save-sharded-state` with \(flags)")
        }
        let file = try GGUFFile(path: path)
        guard let saved = file.metadata[sizeKey]?.int, file.metadata[rankKey]?.int == rank else {
            throw .unsupported(path: path, reason: "not a sharded state file (no \(sizeKey) and \(rankKey) \(rank)); write one with `vllm save-sharded-state`")
        }
        guard saved == size else {
            throw .unsupported(path: path, reason: "saved for tensor parallel size \(saved); load it with --tensor-parallel-size \(saved) or save it again for \(size)")
        }
        let savedStages = file.metadata[stagesKey]?.int ?? 1
        guard savedStages == stages else {
            throw .unsupported(path: path, reason: "saved for pipeline parallel size \(savedStages); load it with --pipeline-parallel-size \(savedStages) or save it again for \(stages)")
        }
        if let stage, stages > 1 {
            let layers = try stage.layers(of: try ModelConfig(gguf: file).layerCount)
            let first = file.metadata[firstLayerKey]?.int ?? -1, count = file.metadata[layerCountKey]?.int ?? -1
            guard first == layers.lowerBound && count == layers.count else {
                throw .unsupported(path: path, reason: "holds layers \(first)..<\(first + count), but pipeline stage \(stage.index) runs layers \(layers.lowerBound)..<\(layers.upperBound); save it again with the VLLM_PP_LAYER_PARTITION it is served with")
            }
        }
        return file
    }

    /// One tensor of a rank's file: rows and columns of a stored tensor (a vector is one row).
    struct Piece {
        let name: String
        let source: GGUFTensorInfo
        let rows: Range<Int>
        let columns: Range<Int>

        var shape: [Int] { source.shape.count == 1 ? [columns.count] : [columns.count, rows.count] }
        var byteCount: Int { rows.count * source.type.byteCount(elements: columns.count)! }
    }

    /// The rank's part of every tensor, as `DecoderWeights.keepPart` takes it from a whole model
    /// (`TensorParallelShard` says which): Q/K/V, gate and up (and their biases, the sinks) by
    /// rows, the attention output and down by columns, the embedding and LM head by vocabulary
    /// rows, the rest whole. Fused QKV and gate/up are written as separate tensors.
    static func plan(_ model: GGUFFile, config c: ModelConfig, shard: TensorParallelShard) throws(ModelLoadError) -> [Piece] {
        let f = c.intermediateSize, qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        let heads = shard.part(of: c.headCount), (qRows, kvRows, mlpRows) = shard.rows(c), vocabRows = shard.part(of: c.vocabSize)
        var sliced: [String: [Piece]] = [:]
        func tensor(_ name: String) throws(ModelLoadError) -> GGUFTensorInfo {
            guard let t = model.tensor(named: name) else { throw .corrupt(path: model.path, reason: "tensor \(name) is missing") }
            return t
        }
        func rowCount(_ t: GGUFTensorInfo) -> Int { t.shape.count == 1 ? 1 : t.shape[1] }
        func rows(_ role: TensorRole, _ layer: Int, _ range: Range<Int>, as target: TensorRole? = nil, offset: Int = 0) throws(ModelLoadError) {
            let name = model.name(role, layer: layer), t = try tensor(name)
            let piece = t.shape.count == 1
                ? Piece(name: model.name(target ?? role, layer: layer), source: t, rows: 0..<1, columns: range.lowerBound + offset ..< range.upperBound + offset)
                : Piece(name: model.name(target ?? role, layer: layer), source: t, rows: range.lowerBound + offset ..< range.upperBound + offset, columns: 0..<t.shape[0])
            try checkBlocks(piece, shard: shard, path: model.path)
            sliced[name, default: []].append(piece)
        }
        func columns(_ role: TensorRole, _ layer: Int, _ range: Range<Int>) throws(ModelLoadError) {
            let name = model.name(role, layer: layer), t = try tensor(name)
            let piece = Piece(name: name, source: t, rows: 0..<rowCount(t), columns: range)
            try checkBlocks(piece, shard: shard, path: model.path)
            sliced[name] = [piece]
        }
        func has(_ role: TensorRole, _ layer: Int = 0) -> Bool { model.tensor(named: model.name(role, layer: layer)) != nil }

        try rows(.embedding, 0, vocabRows)
        if has(.output) { try rows(.output, 0, vocabRows) }
        for i in 0..<c.layerCount {
            if has(.q, i) {
                try rows(.q, i, qRows)
                try rows(.k, i, kvRows)
                try rows(.v, i, kvRows)
            } else {
                try rows(.qkv, i, qRows, as: .q)
                try rows(.qkv, i, kvRows, as: .k, offset: qDim)
                try rows(.qkv, i, kvRows, as: .v, offset: qDim + kvDim)
            }
            for (bias, range) in [(TensorRole.qBias, qRows), (.kBias, kvRows), (.vBias, kvRows)] where has(bias, i) {
                try rows(bias, i, range)
            }
            if has(.sinks, i) { try rows(.sinks, i, heads) }
            try columns(.o, i, qRows)
            if has(.gate, i) {
                try rows(.gate, i, mlpRows)
                try rows(.up, i, mlpRows)
            } else {
                try rows(.gateUp, i, mlpRows, as: .gate)
                try rows(.gateUp, i, mlpRows, as: .up, offset: f)
            }
            try columns(.down, i, mlpRows)
        }
        return model.tensors.flatMap { t in
            sliced[t.name] ?? [Piece(name: t.name, source: t, rows: 0..<rowCount(t), columns: 0..<t.shape[0])]
        }
    }

    /// A split must fall on the quantization blocks of the tensor's type.
    private static func checkBlocks(_ p: Piece, shard: TensorParallelShard, path: String) throws(ModelLoadError) {
        let e = p.source.type.blockElements
        guard p.columns.lowerBound % e == 0, p.columns.count % e == 0 else {
            throw .unsupported(path: path, reason: "tensor \(p.source.name) (\(p.source.type), blocks of \(e) values) cannot be split by tensor parallel size \(shard.size): each rank's \(p.columns.count) columns are not whole blocks")
        }
    }

    /// Writes the file under a temporary name, then renames it into place.
    private static func write(_ pieces: [Piece], metadata: [(String, GGUFValue)], alignment: Int, to path: String,
                              source model: GGUFFile) throws(ModelLoadError) {
        let writer = GGUFWriter(metadata: metadata, tensors: pieces.map {
            GGUFWriter.TensorInfo(name: $0.name, shape: $0.shape, type: $0.source.type.rawValue, byteCount: $0.byteCount)
        }, alignment: alignment)
        let partial = path + ".incomplete"
        let directory = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .cannotOpen(path: directory, reason: "\(error.localizedDescription)")
        }
        guard let out = fopen(partial, "wb") else { throw .cannotOpen(path: partial, reason: String(cString: strerror(errno))) }
        var failed = false
        func put(_ p: UnsafeRawPointer, _ n: Int) { if n > 0 && fwrite(p, 1, n, out) != n { failed = true } }
        writer.head().withUnsafeBytes { put($0.baseAddress!, $0.count) }
        for p in pieces {
            let t = p.source
            let rowBytes = t.type.byteCount(elements: t.shape[0])!
            let start = t.type.byteCount(elements: p.columns.lowerBound)!, length = t.type.byteCount(elements: p.columns.count)!
            let base = model.data(of: t)
            for r in p.rows { put(base + r * rowBytes + start, length) }
            writer.padding(after: p.byteCount).withUnsafeBytes { put($0.baseAddress!, $0.count) }
        }
        let closed = fclose(out) == 0
        guard !failed, closed, rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw .cannotOpen(path: path, reason: "cannot write: \(reason)")
        }
    }
}
