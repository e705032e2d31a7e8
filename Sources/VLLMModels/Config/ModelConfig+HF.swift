extension ModelConfig {
    /// The config of a Hugging Face checkpoint (`config.json`): `architectures[0]` picks the
    /// registry entry, which switches on its features.
    public init(hfConfigPath path: String) throws(ModelLoadError) {
        try self.init(hf: HFConfigJSON(path: path))
    }

    init(hf j: HFConfigJSON) throws(ModelLoadError) {
        guard let names = j.strings("architectures"), let name = names.first else {
            throw .corrupt(path: j.path, reason: "\"architectures\" is missing (expected e.g. [\"LlamaForCausalLM\"])")
        }
        let entry = try ModelRegistry.architecture(hfName: name, path: j.path)
        let r = j.reader, L = Self.limits
        let hidden = try r.int("hidden_size", 1...L.width)
        let heads = try r.int("num_attention_heads", 1...L.heads)
        let headDim = try r.int("head_dim", 2...L.headDim, default: hidden / heads)
        let context = try r.int("max_position_embeddings", 1...L.context)
        self.init(architecture: entry.name, layerCount: try r.int("num_hidden_layers", 1...L.layers), hiddenSize: hidden,
                  intermediateSize: try r.int("intermediate_size", 1...L.width), headCount: heads,
                  kvHeadCount: try r.int("num_key_value_heads", 1...heads, default: heads), headDim: headDim,
                  vocabSize: try r.int("vocab_size", 1...L.vocab), contextLength: context, rmsNormEps: 1e-6,
                  rope: RopeConfig(freqBase: 10000, dimensionCount: headDim), ropeStyle: .rotateHalf)
        let eps = j.double("rms_norm_eps") ?? 1e-6
        guard eps.isFinite, eps >= 0, eps < 1 else { throw .corrupt(path: j.path, reason: "rms_norm_eps is \(eps), not in [0, 1)") }
        rmsNormEps = Float(eps)
        rope = try Self.hfRope(j, headDim: headDim, contextLength: context)
        attentionBias = j.bool("attention_bias") ?? false
        try entry.configureHF(&self, j)
        try checkConsistency(path: j.path)
    }

    /// transformers 5 keeps the base and scaling in `rope_parameters`; older files have
    /// `rope_theta` and `rope_scaling` (with `rope_type`, or `type` before that).
    private static func hfRope(_ j: HFConfigJSON, headDim: Int, contextLength: Int) throws(ModelLoadError) -> RopeConfig {
        let params = j.nested("rope_parameters") ?? j.nested("rope_scaling")
        let base = params?.double("rope_theta") ?? j.double("rope_theta") ?? 10000
        guard base.isFinite, base > 1 else { throw .corrupt(path: j.path, reason: "rope_theta is \(base), not a finite number above 1") }
        let type = params?.string("rope_type") ?? params?.string("type") ?? "default"
        let scaling = try RopeConfig.scaling(type: type, path: j.path, maxPosition: contextLength, keyName: { "rope scaling \($0)" }) { key in
            if key == "truncate" { return params?.bool("truncate").map { $0 ? 1 : 0 } }
            return params?.double(key)
        }
        if let p = j.double("partial_rotary_factor"), p != 1 {
            throw .unsupported(path: j.path, reason: "partial rotary embedding (partial_rotary_factor \(p))")
        }
        return RopeConfig(freqBase: base, dimensionCount: headDim, scaling: scaling)
    }

    /// The window of a config with `sliding_window` (null or absent: none), applied to every
    /// layer or, with `layer_types` (transformers 5) or `max_window_layers` (Qwen2's
    /// `use_sliding_window`), to some of them.
    mutating func readSlidingWindow(_ j: HFConfigJSON, enabledKey: String? = nil) throws(ModelLoadError) {
        if let k = enabledKey, j.bool(k) != true { return }
        guard j.has("sliding_window") else { return }
        slidingWindow = try j.reader.int("sliding_window", 1...Self.limits.context)
        if let types = j.strings("layer_types") {
            guard types.count == layerCount else {
                throw .corrupt(path: j.path, reason: "layer_types has \(types.count) entries for \(layerCount) layers")
            }
            slidingWindowLayers = types.indices.filter { types[$0] == "sliding_attention" }
        } else if enabledKey != nil, let first = j.int("max_window_layers"), first > 0 {
            slidingWindowLayers = Array(min(first, layerCount) ..< layerCount)
        }
    }
}
