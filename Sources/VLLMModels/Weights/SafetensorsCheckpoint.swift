import Foundation
import VLLMCompute

/// A Hugging Face checkpoint's weights: `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Every file is
/// memory-mapped and its tensors used in place.
final class SafetensorsCheckpoint: WeightSource, @unchecked Sendable {
    let path: String
    private let files: [SafetensorsFile]
    /// Tensor name → index into `files`.
    private let owner: [String: Int]
    /// Where the decoder's and the head's names start: "model." and "" in a causal LM; a
    /// multimodal checkpoint nests its language model (Gemma 3: `language_model.model.` and
    /// `language_model.` as Google released it, `model.language_model.` and "" as transformers 5
    /// saves it).
    private let decoderPrefix: String, headPrefix: String
    private static let layouts = [("model.", ""), ("language_model.model.", "language_model."), ("model.language_model.", "")]
    /// Mixtral keeps its experts under `block_sparse_moe` with w1/w3/w2 for gate/up/down; the
    /// others (Qwen-MoE) under `mlp` with the dense MLP's names.
    private let mixtralExperts: Bool
    /// gpt-oss keeps its router under `mlp.router` and its experts stacked (`GptOssExperts`),
    /// which are converted once, on first use, into buffers held here.
    private let gptOss: Bool
    private var converted: [String: SourceTensor] = [:]
    private var buffers: [UnsafeMutableRawPointer] = []
    private let lock = NSLock()
    private static let convertedSuffix = ".converted"

    static let indexName = "model.safetensors.index.json"
    static let singleName = "model.safetensors"

    /// Opens the checkpoint in `directory`.
    init(directory: String) throws(ModelLoadError) {
        path = directory
        let index = directory + "/" + Self.indexName
        var files: [SafetensorsFile] = [], owner: [String: Int] = [:]
        if FileManager.default.fileExists(atPath: index) {
            let shards = try Self.shardNames(index: index)
            for (i, shard) in shards.enumerated() {
                let f = try SafetensorsFile(path: directory + "/" + shard)
                files.append(f)
                for t in f.tensors { owner[t.name] = i }
            }
        } else {
            let single = directory + "/" + Self.singleName
            guard FileManager.default.fileExists(atPath: single) else {
                throw .cannotOpen(path: directory, reason: "no \(Self.singleName) or \(Self.indexName) in the model directory")
            }
            let f = try SafetensorsFile(path: single)
            files = [f]
            for t in f.tensors { owner[t.name] = 0 }
        }
        self.files = files
        self.owner = owner
        (decoderPrefix, headPrefix) = Self.layouts.first { owner[$0.0 + "embed_tokens.weight"] != nil } ?? Self.layouts[0]
        mixtralExperts = owner[decoderPrefix + "layers.0.block_sparse_moe.gate.weight"] != nil
        gptOss = owner[decoderPrefix + "layers.0.mlp.router.weight"] != nil
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// The distinct shard files the index maps tensors to, in first-seen order. Names must be
    /// plain file names in the directory.
    private static func shardNames(index: String) throws(ModelLoadError) -> [String] {
        let j = try HFConfigJSON(path: index)
        guard let map = j.object["weight_map"] as? [String: Any] else {
            throw .corrupt(path: index, reason: "\"weight_map\" is missing or not an object")
        }
        var names: [String] = []
        for (_, v) in map.sorted(by: { $0.key < $1.key }) {
            guard let s = v as? String, !s.isEmpty, !s.contains("/"), s != "..", s != "." else {
                throw .corrupt(path: index, reason: "weight_map names a shard that is not a file name in the directory: \("\(v)".clippedForMessage())")
            }
            if !names.contains(s) { names.append(s) }
        }
        guard !names.isEmpty else { throw .corrupt(path: index, reason: "weight_map is empty") }
        return names
    }

    var byteCount: Int { files.reduce(0) { $0 + $1.file.count } }

    /// transformers' parameter names (`model.layers.N.self_attn.q_proj.weight`, …).
    func name(_ role: TensorRole, layer i: Int) -> String {
        let p = decoderPrefix + "layers.\(i)."
        return switch role {
        case .embedding: decoderPrefix + "embed_tokens.weight"
        case .outputNorm: decoderPrefix + "norm.weight"
        case .output: headPrefix + "lm_head.weight"
        // Never in a checkpoint: frequencies come from config.json.
        case .ropeFreqs: "rope_freqs.weight"
        case .ropeFactorsShort: "rope_factors_short.weight"
        case .ropeFactorsLong: "rope_factors_long.weight"
        case .attnNorm: p + "input_layernorm.weight"
        case .q: p + "self_attn.q_proj.weight"
        case .k: p + "self_attn.k_proj.weight"
        case .v: p + "self_attn.v_proj.weight"
        case .o: p + "self_attn.o_proj.weight"
        case .qBias: p + "self_attn.q_proj.bias"
        case .kBias: p + "self_attn.k_proj.bias"
        case .vBias: p + "self_attn.v_proj.bias"
        case .qNorm: p + "self_attn.q_norm.weight"
        case .kNorm: p + "self_attn.k_norm.weight"
        // Llama's pre-MLP norm and Gemma's post-attention norm share a name.
        case .ffnNorm, .postAttnNorm: p + "post_attention_layernorm.weight"
        case .preFFNNorm: p + "pre_feedforward_layernorm.weight"
        case .postFFNNorm: p + "post_feedforward_layernorm.weight"
        case .qkv: p + "self_attn.qkv_proj.weight"
        case .gateUp: p + "mlp.gate_up_proj.weight"
        case .gate: p + "mlp.gate_proj.weight"
        case .up: p + "mlp.up_proj.weight"
        case .down: p + "mlp.down_proj.weight"
        case .router: p + (mixtralExperts ? "block_sparse_moe.gate.weight" : gptOss ? "mlp.router.weight" : "mlp.gate.weight")
        // transformers 5 holds experts stacked in memory but saves them one by one, except gpt-oss.
        case .expertsGate: p + "mlp.experts." + (gptOss ? GptOssExperts.Part.gate.rawValue + Self.convertedSuffix : "stacked")
        case .expertsUp: p + "mlp.experts." + (gptOss ? GptOssExperts.Part.up.rawValue + Self.convertedSuffix : "stacked")
        case .expertsDown: p + "mlp.experts." + (gptOss ? GptOssExperts.Part.down.rawValue + Self.convertedSuffix : "stacked")
        case .expertsGateBias: p + "mlp.experts." + GptOssExperts.Part.gateBias.rawValue + Self.convertedSuffix
        case .expertsUpBias: p + "mlp.experts." + GptOssExperts.Part.upBias.rawValue + Self.convertedSuffix
        case .expertsDownBias: p + "mlp.experts.down_proj_bias"
        case .routerBias: p + "mlp.router.bias"
        case .oBias: p + "self_attn.o_proj.bias"
        case .sinks: p + "self_attn.sinks"
        case .sharedGate: p + "mlp.shared_expert.gate_proj.weight"
        case .sharedUp: p + "mlp.shared_expert.up_proj.weight"
        case .sharedDown: p + "mlp.shared_expert.down_proj.weight"
        case .sharedExpertGate: p + "mlp.shared_expert_gate.weight"
        }
    }

    func expertName(_ role: TensorRole, layer: Int, expert e: Int) -> String? {
        if gptOss { return nil }
        let (mixtral, other): (String, String)
        switch role {
        case .gate: (mixtral, other) = ("w1", "gate_proj")
        case .up: (mixtral, other) = ("w3", "up_proj")
        case .down: (mixtral, other) = ("w2", "down_proj")
        default: return nil
        }
        let p = decoderPrefix + "layers.\(layer)."
        return mixtralExperts ? p + "block_sparse_moe.experts.\(e).\(mixtral).weight" : p + "mlp.experts.\(e).\(other).weight"
    }

    /// PyTorch shapes list the outermost dimension first: a Linear weight is [out, in].
    func tensor(_ name: String) throws(ModelLoadError) -> SourceTensor? {
        if name.hasSuffix(Self.convertedSuffix) { return try convertedTensor(name) }
        guard let i = owner[name], let t = files[i].tensor(named: name) else { return nil }
        let f = files[i]
        guard let type = t.dtype.floatType else {
            throw .unsupported(path: f.path, reason: "tensor \(name) has dtype \(t.dtype.rawValue); weights must be F32, F16 or BF16")
        }
        let data = f.file.base + t.fileRange.lowerBound
        switch t.shape.count {
        case 1: return SourceTensor(type: type, rows: 1, columns: t.shape[0], data: data)
        case 2: return SourceTensor(type: type, rows: t.shape[0], columns: t.shape[1], data: data)
        default: throw .corrupt(path: f.path, reason: "tensor \(name) has shape \(t.shape), expected a matrix or a vector")
        }
    }

    /// A gpt-oss expert stack (`GptOssExperts.Part`), converted on first use.
    private func convertedTensor(_ name: String) throws(ModelLoadError) -> SourceTensor? {
        lock.lock()
        defer { lock.unlock() }
        if let t = converted[name] { return t }
        let stem = String(name.dropLast(Self.convertedSuffix.count))
        guard gptOss, let dot = stem.lastIndex(of: "."), let part = GptOssExperts.Part(rawValue: String(stem[stem.index(after: dot)...])) else { return nil }
        let prefix = String(stem[...dot])
        let source = part == .down ? "down_proj" : part == .gateBias || part == .upBias ? "gate_up_proj_bias" : "gate_up_proj"
        guard owner[prefix + source] != nil || owner[prefix + source + "_blocks"] != nil else { return nil }
        let find = { (name: String) in self.owner[name].flatMap { i in self.files[i].tensor(named: name).map { (self.files[i], $0) } } }
        let parts = try GptOssExperts(find: find, prefix: prefix, path: path).convert(part) { bytes in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
            buffers.append(p)
            return p
        }
        for (p, t) in parts { converted[prefix + p.rawValue + Self.convertedSuffix] = t }
        return converted[name]
    }

    func releasePages(_ start: UnsafeRawPointer, byteCount bytes: Int) {
        for f in files { f.file.releasePages(start, byteCount: bytes) }
    }
}

extension SafetensorsDType {
    /// The engine's type for a float dtype (F32, F16, BF16); nil for the others.
    var floatType: GGMLType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        default: nil
        }
    }
}
