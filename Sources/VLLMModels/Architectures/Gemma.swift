import Foundation

extension ModelArchitecture {
    /// Gemma 2: RMSNorms scaling by (1 + w), norms after attention and after the MLP as well as
    /// before, a GELU-tanh gated MLP, embeddings scaled by √hidden, soft-capped attention scores
    /// and final logits, `query_pre_attn_scalar`, and a sliding window on every other layer
    /// (the even ones).
    static let gemma2 = ModelArchitecture(name: "Gemma2ForCausalLM", ggufName: "gemma2", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        try c.readGemma(j)
        c.attentionSoftcap = try j.positiveFloat("attn_logit_softcapping")
        if c.slidingWindow != nil, c.slidingWindowLayers == nil {
            c.slidingWindowLayers = ModelConfig.localLayers(count: c.layerCount, pattern: 2)
        }
    } configureGGUF: { c, gguf throws(ModelLoadError) in
        try c.readGemmaGGUF(gguf, arch: "gemma2", pattern: 2, largeLayerCount: 46)
        c.attentionSoftcap = try gguf.positiveFloat("gemma2.attn_logit_softcapping")
    }

    /// Gemma 3 (text): Gemma 2's blocks without attention soft-capping, plus a per-head RMSNorm
    /// on Q and K, five local (sliding-window) layers to each global one, and local layers with
    /// their own rotary base (10k; the global layers' 1M carries the model's scaling).
    static let gemma3 = ModelArchitecture(name: "Gemma3ForCausalLM", ggufName: "gemma3", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        try c.readGemma(j)
        c.qkNorm = true
        c.attentionSoftcap = try j.positiveFloat("attn_logit_softcapping")
        if c.slidingWindow != nil, c.slidingWindowLayers == nil {
            let pattern = j.int("sliding_window_pattern") ?? j.int("_sliding_window_pattern") ?? 6
            guard pattern >= 1 else { throw .corrupt(path: j.path, reason: "sliding_window_pattern \(pattern) is not positive") }
            c.slidingWindowLayers = ModelConfig.localLayers(count: c.layerCount, pattern: pattern)
        }
        if c.localRope == nil { c.localRope = RopeConfig(freqBase: 10000, dimensionCount: c.rope.dimensionCount) }
    } configureGGUF: { c, gguf throws(ModelLoadError) in
        try c.readGemmaGGUF(gguf, arch: "gemma3", pattern: 6, largeLayerCount: 62)
        // Newer converters record the local base; llama.cpp assumes 10k when it is absent.
        let base = gguf.metadata["gemma3.rope.freq_base_swa"]?.double ?? 10000
        guard base.isFinite, base > 1 else { throw .corrupt(path: gguf.path, reason: "gemma3.rope.freq_base_swa is \(base), not a finite number above 1") }
        c.localRope = RopeConfig(freqBase: base, dimensionCount: c.rope.dimensionCount)
    }
}

extension ModelArchitecture {
    /// transformers' `Gemma3TextConfig` defaults, which the `text_config` of a Gemma 3 multimodal
    /// checkpoint leaves out (Google's 4B lists only hidden, intermediate and layer sizes, rope
    /// scaling and window).
    static var gemma3TextDefaults: [String: Any] {
        ["vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
         "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
         "max_position_embeddings": 131_072, "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0,
         "rope_local_base_freq": 10_000.0, "query_pre_attn_scalar": 256, "sliding_window": 4096,
         "sliding_window_pattern": 6, "attention_bias": false, "tie_word_embeddings": true]
    }
}

extension ModelConfig {
    /// Layers 0..<count where every `pattern`-th one (1-based) is global and the rest local, as
    /// transformers' default `layer_types` and llama.cpp's `set_swa_pattern` both lay them out.
    static func localLayers(count: Int, pattern: Int) -> [Int] {
        (0..<count).filter { ($0 + 1) % pattern != 0 }
    }

    /// What Gemma 2 and 3 checkpoints share.
    mutating func readGemma(_ j: HFConfigJSON) throws(ModelLoadError) {
        let act = j.string("hidden_activation") ?? j.string("hidden_act") ?? "gelu_pytorch_tanh"
        guard act == "gelu_pytorch_tanh" || act == "gelu_tanh" else {
            throw .unsupported(path: j.path, reason: "Gemma MLP activation '\(act.clippedForMessage())' (supported: gelu_pytorch_tanh)")
        }
        activation = .geluTanh
        normWeightOffset = 1
        sandwichNorms = true
        embeddingScale = Float(Double(hiddenSize).squareRoot())
        finalLogitSoftcap = try j.positiveFloat("final_logit_softcapping")
        let scalar = j.double("query_pre_attn_scalar") ?? Double(headDim)
        guard scalar.isFinite, scalar > 0 else { throw .corrupt(path: j.path, reason: "query_pre_attn_scalar is \(scalar), not a finite positive number") }
        attentionScale = Float(1 / scalar.squareRoot())
        try readSlidingWindow(j)
    }

    /// What Gemma 2 and 3 GGUF files share. The files carry the window but not which layers
    /// have it unless `attention.sliding_window_pattern` is present (llama.cpp's defaults then),
    /// and not `query_pre_attn_scalar`: llama.cpp uses the head size, except for the 27B models
    /// (told apart by layer count) whose scalar is hidden / heads.
    mutating func readGemmaGGUF(_ gguf: GGUFFile, arch: String, pattern: Int, largeLayerCount: Int) throws(ModelLoadError) {
        activation = .geluTanh
        sandwichNorms = true
        embeddingScale = Float(Double(hiddenSize).squareRoot())
        finalLogitSoftcap = try gguf.positiveFloat("\(arch).final_logit_softcapping")
        let scalar = layerCount == largeLayerCount ? hiddenSize / headCount : headDim
        attentionScale = Float(1 / Double(scalar).squareRoot())
        guard slidingWindow != nil else { return }
        if let flags = gguf.metadata["\(arch).attention.sliding_window_pattern"]?.array {
            guard flags.count == layerCount, flags.allSatisfy({ $0.bool != nil }) else {
                throw .corrupt(path: gguf.path, reason: "\(arch).attention.sliding_window_pattern has \(flags.count) entries for \(layerCount) layers")
            }
            slidingWindowLayers = flags.indices.filter { flags[$0].bool == true }
        } else {
            let p = gguf.metadata["\(arch).attention.sliding_window_pattern"]?.int ?? pattern
            guard p >= 1 else { throw .corrupt(path: gguf.path, reason: "\(arch).attention.sliding_window_pattern \(p) is not positive") }
            slidingWindowLayers = Self.localLayers(count: layerCount, pattern: p)
        }
    }
}

extension HFConfigJSON {
    /// An optional positive number (absent or null: nil).
    func positiveFloat(_ key: String) throws(ModelLoadError) -> Float? {
        guard has(key) else { return nil }
        guard let v = double(key), v.isFinite, v > 0 else { throw .corrupt(path: path, reason: "\(key) is not a finite positive number") }
        return Float(v)
    }
}

extension GGUFFile {
    /// An optional positive number in the metadata.
    func positiveFloat(_ key: String) throws(ModelLoadError) -> Float? {
        guard let value = metadata[key] else { return nil }
        guard let v = value.double, v.isFinite, v > 0 else { throw .corrupt(path: path, reason: "\(key) is not a finite positive number") }
        return Float(v)
    }
}
