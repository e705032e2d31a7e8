extension ModelConfig {
    /// The config of a GGUF model: `general.architecture` picks the registry entry, whose keys
    /// are `<arch>.*` (llama.cpp's names). Features follow the tensors the file carries (Q/K/V
    /// biases, Q/K norms) and `<arch>.attention.sliding_window`.
    public init(gguf: GGUFFile) throws(ModelLoadError) {
        let m = gguf.metadata
        guard let arch = m["general.architecture"]?.string else {
            throw .corrupt(path: gguf.path, reason: "general.architecture is missing")
        }
        let entry = try ModelRegistry.architecture(ggufName: arch, path: gguf.path)
        let r = ConfigReader(path: gguf.path, prefix: "\(arch).", lookup: { m[$0]?.int }, present: { m[$0] != nil })
        func key(_ k: String) -> String { "\(arch).\(k)" }
        let L = Self.limits
        let layers = try r.int("block_count", 1...L.layers)
        let hidden = try r.int("embedding_length", 1...L.width)
        let heads = try r.int("attention.head_count", 1...L.heads)
        let tokens = m["tokenizer.ggml.tokens"]?.array?.count
        let headDim = try r.int("attention.key_length", 2...L.headDim, default: hidden / heads)
        self.init(architecture: entry.name, layerCount: layers, hiddenSize: hidden,
                  intermediateSize: try r.int("feed_forward_length", 1...L.width),
                  headCount: heads, kvHeadCount: try r.int("attention.head_count_kv", 1...heads, default: heads),
                  headDim: headDim,
                  vocabSize: try r.int("vocab_size", 1...L.vocab, default: tokens ?? gguf.tensor(named: "token_embd.weight")?.shape.last),
                  contextLength: try r.int("context_length", 1...L.context),
                  rmsNormEps: 1e-5, rope: RopeConfig(freqBase: 10000, dimensionCount: headDim), ropeStyle: entry.ggufRopeStyle)
        let eps = m[key("attention.layer_norm_rms_epsilon")]?.double ?? 1e-5
        guard eps.isFinite, eps >= 0, eps < 1 else {
            throw .corrupt(path: gguf.path, reason: "\(key("attention.layer_norm_rms_epsilon")) is \(eps), not in [0, 1)")
        }
        rmsNormEps = Float(eps)
        rope = try Self.ggufRope(m, arch: arch, headDim: headDim, contextLength: contextLength, path: gguf.path)
        attentionBias = gguf.tensor(named: "blk.0.attn_q.bias") != nil
        qkNorm = gguf.tensor(named: "blk.0.attn_q_norm.weight") != nil
        // 0 is what llama.cpp's converter writes for "no window" (Phi-3 files).
        if m[key("attention.sliding_window")] != nil, try r.int("attention.sliding_window", 0...L.context) > 0 {
            slidingWindow = try r.int("attention.sliding_window", 1...L.context)
        }
        moe = try MoEConfig.gguf(gguf, arch: arch)
        try entry.configureGGUF(&self, gguf)
        try checkConsistency(path: gguf.path)
        // Token ids the tokenizer hands out index the embedding, so it needs a row for each.
        if let tokens, tokens > vocabSize {
            throw .corrupt(path: gguf.path, reason: "inconsistent hyperparameters: the tokenizer has \(tokens) tokens but the vocabulary size is \(vocabSize)")
        }
    }

    /// GGUF's rope keys, mapped to config.json's parameter names for the shared parser.
    static func ggufRope(_ m: [String: GGUFValue], arch: String, headDim: Int, contextLength: Int,
                                 path: String) throws(ModelLoadError) -> RopeConfig {
        let base = m["\(arch).rope.freq_base"]?.double ?? 10000
        guard base.isFinite, base > 1 else {
            throw .corrupt(path: path, reason: "\(arch).rope.freq_base is \(base), not a finite number above 1")
        }
        let names = ["factor": "rope.scaling.factor", "low_freq_factor": "rope.scaling.low_freq_factor",
                     "high_freq_factor": "rope.scaling.high_freq_factor",
                     "original_max_position_embeddings": "rope.scaling.original_context_length",
                     "attention_factor": "rope.scaling.attn_factor", "beta_fast": "rope.scaling.yarn_beta_fast",
                     "beta_slow": "rope.scaling.yarn_beta_slow"]
        func keyName(_ k: String) -> String { "\(arch).\(names[k] ?? k)" }
        if let f = m[keyName("factor")]?.double, !(f.isFinite && f > 0) {
            throw .corrupt(path: path, reason: "\(keyName("factor")) is \(f), not a finite positive number")
        }
        let type = m["\(arch).rope.scaling.type"]?.string ?? "none"
        let scaling = try RopeConfig.scaling(type: type, path: path, maxPosition: contextLength, keyName: keyName) { m[keyName($0)]?.double }
        let dims = m["\(arch).rope.dimension_count"]?.int ?? headDim
        return RopeConfig(freqBase: base, dimensionCount: dims, scaling: scaling)
    }
}
