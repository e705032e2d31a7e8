import Foundation

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
        if let wrapper = ModelRegistry.textOnlyCheckpoints[name] {
            // The text model's config: its defaults, then the top level, then `text_config`.
            guard let text = j.object["text_config"] as? [String: Any] else {
                throw .corrupt(path: j.path, reason: "\(name) config has no \"text_config\" object")
            }
            var merged = wrapper.textDefaults
            for (k, v) in j.object where k != "text_config" && k != "vision_config" { merged[k] = v }
            merged.merge(text) { _, new in new }
            merged["architectures"] = [wrapper.text.name]
            self = try ModelConfig(hf: HFConfigJSON(object: merged, path: j.path))
            return
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
        (rope, localRope) = try Self.hfRope(j, headDim: headDim, contextLength: context)
        attentionBias = j.bool("attention_bias") ?? false
        try entry.configureHF(&self, j)
        try checkConsistency(path: j.path)
    }

    /// transformers 5 keeps the base and scaling in `rope_parameters` (per layer type for models
    /// whose local layers rotate differently: Gemma 3); older files have `rope_theta` and
    /// `rope_scaling` (with `rope_type`, or `type` before that), and Gemma 3 `rope_local_base_freq`.
    /// Returns the rotary embedding of the global layers and, if different, the local layers'.
    private static func hfRope(_ j: HFConfigJSON, headDim: Int, contextLength: Int) throws(ModelLoadError) -> (RopeConfig, RopeConfig?) {
        var params = j.nested("rope_parameters") ?? j.nested("rope_scaling")
        var localParams: HFConfigJSON?
        if let full = params?.nested("full_attention") {
            localParams = params?.nested("sliding_attention")
            params = full
        }
        let partial = params?.double("partial_rotary_factor") ?? j.double("partial_rotary_factor") ?? 1
        guard partial > 0, partial <= 1 else {
            throw .corrupt(path: j.path, reason: "partial_rotary_factor is \(partial), not in (0, 1]")
        }
        let dims = Int(Double(headDim) * partial)  // transformers' int(head_dim * factor)
        func rope(_ params: HFConfigJSON?) throws(ModelLoadError) -> RopeConfig {
            let base = params?.double("rope_theta") ?? j.double("rope_theta") ?? 10000
            guard base.isFinite, base > 1 else { throw .corrupt(path: j.path, reason: "rope_theta is \(base), not a finite number above 1") }
            let type = params?.string("rope_type") ?? params?.string("type") ?? "default"
            if type == "longrope" || type == "su" {
                return RopeConfig(freqBase: base, dimensionCount: dims,
                                  scaling: .longRoPE(try longRoPE(params!, j, contextLength: contextLength)))
            }
            let scaling = try RopeConfig.scaling(type: type, path: j.path, maxPosition: contextLength, keyName: { "rope scaling \($0)" }) { key in
                if key == "truncate" { return params?.bool("truncate").map { $0 ? 1 : 0 } }
                return params?.double(key)
            }
            return RopeConfig(freqBase: base, dimensionCount: dims, scaling: scaling)
        }
        let global = try rope(params)
        if let localParams { return (global, try rope(localParams)) }
        if let b = j.double("rope_local_base_freq") {
            guard b.isFinite, b > 1 else { throw .corrupt(path: j.path, reason: "rope_local_base_freq is \(b), not a finite number above 1") }
            return (global, RopeConfig(freqBase: b, dimensionCount: dims))
        }
        return (global, nil)
    }

    /// LongRoPE's lists and scale (transformers' `_compute_longrope_parameters`): the original
    /// context from the rope parameters or the top level, the attention factor from the ratio of
    /// the context to it unless given.
    private static func longRoPE(_ p: HFConfigJSON, _ j: HFConfigJSON, contextLength: Int) throws(ModelLoadError) -> RopeConfig.LongRoPEScaling {
        guard let short = p.doubles("short_factor"), let long = p.doubles("long_factor"),
              (short + long).allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .corrupt(path: j.path, reason: "longrope scaling needs short_factor and long_factor lists of positive numbers")
        }
        guard let original = p.double("original_max_position_embeddings") ?? j.double("original_max_position_embeddings"),
              original.isFinite, original > 1 else {
            throw .corrupt(path: j.path, reason: "longrope scaling needs original_max_position_embeddings above 1")
        }
        let factor = p.double("factor") ?? Double(contextLength) / original
        let attention = p.double("attention_factor") ?? (factor <= 1 ? 1 : (1 + log(factor) / log(original)).squareRoot())
        guard attention.isFinite, attention > 0 else { throw .corrupt(path: j.path, reason: "longrope attention factor \(attention) is not a finite positive number") }
        return .init(shortFactors: short, longFactors: long, originalContextLength: original, attentionFactor: attention)
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
