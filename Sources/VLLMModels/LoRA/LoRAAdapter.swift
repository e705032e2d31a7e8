import Foundation

/// One adapted linear layer: ΔW = B·A folded with its scale, ready for the batched kernels.
public struct LoRAWeights: Sendable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// A, rank × inputs, row-major (PEFT's `lora_A.weight` as stored): the shrink step takes a
    /// dot product of an activation row with each of its rows.
    let a: [Float]
    /// scale·B transposed, rank × outputs: the expand step adds each row, weighted by the
    /// shrunk activation, to the output row (an axpy, no reduction). Rows of Q and K are in
    /// GGUF's order (see `LoRAAdapter.ggufRowOrder`).
    let scaledBT: [Float]
}

/// A Hugging Face PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`),
/// checked against a model and converted to the layout the forward pass uses.
///
/// Tensor names follow PEFT's saved form:
/// `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` ([r, in]) and
/// `….lora_B.weight` ([out, r]), for the modules of `LoRATarget`.
public final class LoRAAdapter: @unchecked Sendable {
    public let path: String
    public let config: LoRAConfig
    /// `layers[l][target]`: the weights of that layer's module, when the adapter has them.
    public let layers: [[LoRATarget: LoRAWeights]]

    public var rank: Int { config.rank }
    /// Bytes the converted weights occupy (fp32 A and B of every adapted module).
    public let byteCount: Int

    /// The largest weight file an adapter of `maxRank` can need on this model: A and B of every
    /// supported module in every layer, in fp32, plus room for the header and stray tensors.
    static func maxWeightFileBytes(model: ModelConfig, maxRank: Int) -> Int {
        let perLayer = LoRATarget.allCases.reduce(0) { sum, t in
            let (out, inp) = t.dimensions(model)
            return sum + (out + inp) * maxRank * 4
        }
        return perLayer.multipliedReportingOverflow(by: model.layerCount).partialValue + (64 << 20)
    }

    /// Loads the adapter in directory `path` for a model with `model`'s shapes; refuses ranks
    /// above `maxRank`.
    public init(path: String, model: ModelConfig, maxRank: Int) throws(LoRAError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .notFound(path: path, reason: "no such file or directory")
        }
        guard isDir.boolValue else { throw .notAnAdapter(path: path, reason: "not a directory") }
        self.path = path
        let config = try LoRAConfig(path: path + "/adapter_config.json", dir: path)
        self.config = config
        guard config.rank <= maxRank else { throw .rankTooLarge(path: path, rank: config.rank, maxRank: maxRank) }
        if model.moe != nil, !config.targets.isDisjoint(with: [.gateProj, .upProj, .downProj]) {
            throw .unsupported(path: path, reason: "LoRA on the experts of a mixture-of-experts MLP (gate_proj, up_proj, down_proj) is not supported")
        }
        let weightsPath = path + "/adapter_model.safetensors"
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let bin = FileManager.default.fileExists(atPath: path + "/adapter_model.bin")
            throw .notAnAdapter(path: path, reason: bin ? "only adapter_model.bin (PyTorch pickle) is present; convert it to adapter_model.safetensors"
                                                          : "adapter_model.safetensors is missing")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: weightsPath))?[.size] as? Int,
           size > Self.maxWeightFileBytes(model: model, maxRank: maxRank) {
            throw .notAnAdapter(path: path, reason: "adapter_model.safetensors is \(size) bytes, more than an adapter of rank \(maxRank) on this model can hold")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch { throw .file(error) }

        // Group A and B halves by (layer, module).
        var halves: [Int: [String: (a: SafetensorsTensorInfo?, b: SafetensorsTensorInfo?)]] = [:]
        for t in file.tensors {
            let (layer, module, isA) = try Self.parseName(t.name, path: path, model: model)
            var pair = halves[layer, default: [:]][module] ?? (nil, nil)
            if isA { pair.a = t } else { pair.b = t }
            halves[layer, default: [:]][module] = pair
        }
        guard !halves.isEmpty else { throw .notAnAdapter(path: path, reason: "adapter_model.safetensors holds no LoRA weights") }

        var layers = [[LoRATarget: LoRAWeights]](repeating: [:], count: model.layerCount)
        var bytes = 0
        for (layer, modules) in halves {
            for (module, pair) in modules.sorted(by: { $0.key < $1.key }) {
                let where_ = LoRATarget.moduleName(module, layer: layer)
                guard let a = pair.a, let b = pair.b else {
                    throw .mismatch(path: path, reason: "\(where_) has lora_\(pair.a == nil ? "B" : "A") without lora_\(pair.a == nil ? "A" : "B")")
                }
                // A packed module (qkv_proj) is its parts with one shared A and B's rows in turn.
                let parts = LoRATarget.targets(module: module)!
                guard parts.allSatisfy(config.targets.contains) else {
                    throw .mismatch(path: path, reason: "\(where_) has weights but target_modules does not name it")
                }
                let inp = parts[0].dimensions(model).in, outs = parts.map { $0.dimensions(model).out }, r = config.rank
                let out = outs.reduce(0, +)
                guard a.shape == [r, inp], b.shape == [out, r] else {
                    throw .mismatch(path: path, reason: "\(where_): lora_A is \(a.shape) and lora_B is \(b.shape); rank \(r) on this model needs [\(r), \(inp)] and [\(out), \(r)]")
                }
                let aValues: [Float], bValues: [Float]
                do { aValues = try file.floats(a); bValues = try file.floats(b) } catch { throw .file(error) }
                guard aValues.allSatisfy(\.isFinite), bValues.allSatisfy(\.isFinite) else {
                    throw .mismatch(path: path, reason: "\(where_) holds NaN or infinite values")
                }
                let scale = Float(config.scale)
                var first = 0
                for (target, rows) in zip(parts, outs) {
                    guard layers[layer][target] == nil else {
                        throw .mismatch(path: path, reason: "layer \(layer) has weights for \(target.rawValue) both alone and in a fused module")
                    }
                    let order = Self.ggufRowOrder(target, model)
                    var bt = [Float](repeating: 0, count: r * rows)
                    for row in 0..<rows {
                        let src = first + (order?[row] ?? row)
                        for k in 0..<r { bt[k * rows + row] = scale * bValues[src * r + k] }
                    }
                    layers[layer][target] = LoRAWeights(rank: r, inputs: inp, outputs: rows, a: aValues, scaledBT: bt)
                    bytes += (aValues.count + bt.count) * MemoryLayout<Float>.size
                    first += rows
                }
            }
        }
        self.layers = layers
        byteCount = bytes
    }

    private init(path: String, config: LoRAConfig, layers: [[LoRATarget: LoRAWeights]]) {
        self.path = path
        self.config = config
        self.layers = layers
        byteCount = layers.reduce(0) { $0 + $1.values.reduce(0) { $0 + ($1.a.count + $1.scaledBT.count) * MemoryLayout<Float>.size } }
    }

    /// The part of this adapter (read for the whole model `whole`) that `shard`'s rank applies,
    /// split as the model's layers are: B's rows of the column-parallel projections (Q, K, V,
    /// gate, up), A's columns of the row-parallel ones (the attention output, down), whose
    /// corrections are then partial sums that the layer's all-reduce adds up with the rest.
    public func part(_ shard: TensorParallelShard, of whole: ModelConfig) -> LoRAAdapter {
        guard shard.size > 1 else { return self }
        let (qRows, kvRows, mlpRows) = shard.rows(whole)
        func columns(_ m: [Float], width: Int, _ range: Range<Int>) -> [Float] {
            (0 ..< m.count / width).flatMap { k in m[k * width + range.lowerBound ..< k * width + range.upperBound] }
        }
        func slice(_ target: LoRATarget, _ w: LoRAWeights) -> LoRAWeights {
            switch target {
            case .qProj, .kProj, .vProj, .gateProj, .upProj:
                let range = target == .qProj ? qRows : target == .kProj || target == .vProj ? kvRows : mlpRows
                return LoRAWeights(rank: w.rank, inputs: w.inputs, outputs: range.count, a: w.a,
                                   scaledBT: columns(w.scaledBT, width: w.outputs, range))
            case .oProj, .downProj:
                let range = target == .oProj ? qRows : mlpRows
                return LoRAWeights(rank: w.rank, inputs: range.count, outputs: w.outputs,
                                   a: columns(w.a, width: w.inputs, range), scaledBT: w.scaledBT)
            }
        }
        let layers = self.layers.map { modules in
            Dictionary(uniqueKeysWithValues: modules.map { ($0.key, slice($0.key, $0.value)) })
        }
        return LoRAAdapter(path: path, config: config, layers: layers)
    }

    /// Splits a PEFT tensor name into (layer, module, is lora_A).
    static func parseName(_ name: String, path: String, model: ModelConfig) throws(LoRAError) -> (Int, String, Bool) {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.starts(with: ["base_model", "model"]) { parts.removeFirst(2) }
        if parts.contains(where: { $0.hasPrefix("lora_embedding") }) {
            throw .unsupported(path: path, reason: "LoRA on embeddings (\(name.clippedForMessage())) is not supported")
        }
        // model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight
        guard parts.count == 7, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              ["lora_A", "lora_B"].contains(parts[5]), parts[6] == "weight" else {
            throw .mismatch(path: path, reason: "unexpected tensor \(name.clippedForMessage()) (expected base_model.model.model.layers.N.self_attn|mlp.MODULE.lora_A|lora_B.weight)")
        }
        guard LoRATarget.targets(module: parts[4]) != nil, LoRATarget.moduleName(parts[4], layer: layer) == parts[0...4].joined(separator: ".") else {
            throw .unsupportedTargets(path: path, modules: [(parts[3] + "." + parts[4]).clippedForMessage()])
        }
        guard (0..<model.layerCount).contains(layer) else {
            throw .mismatch(path: path, reason: "tensor \(name.clippedForMessage()) is for layer \(layer) but the model has \(model.layerCount) layers")
        }
        return (layer, parts[4], parts[5] == "lora_A")
    }

    /// For q_proj and k_proj: GGUF row → Hugging Face row. llama.cpp's convert_hf_to_gguf.py
    /// reorders each head's rows (of Q, and of K with the KV head count) from the rotate-half
    /// layout (pair i is rows i and i + D/2) to adjacent pairs (rows 2i and 2i + 1), which is
    /// what our `vk_rope_adjacent` rotates; B's rows are the output rows, so they move the same
    /// way. nil for other modules (no reordering).
    static func ggufRowOrder(_ target: LoRATarget, _ c: ModelConfig) -> [Int]? {
        // Checkpoints and NeoX-style GGUFs keep the rotate-half order adapters are trained in.
        guard c.ropeStyle == .adjacentPairs else { return nil }
        let heads: Int
        switch target {
        case .qProj: heads = c.headCount
        case .kProj: heads = c.kvHeadCount
        default: return nil
        }
        let d = c.headDim, half = d / 2
        return (0..<heads * d).map { g in
            let head = g / d, within = g % d
            return head * d + (within % 2) * half + within / 2
        }
    }
}
