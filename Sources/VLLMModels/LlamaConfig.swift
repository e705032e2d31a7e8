/// Hyperparameters of a Llama-architecture model, read from GGUF metadata (`<arch>.*` keys).
public struct LlamaConfig: Sendable, Codable, Equatable {
    public var architecture: String
    public var layerCount: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var rmsNormEps: Float
    public var rope: RopeConfig

    /// Architectures whose GGUF tensors follow the Llama layout (Mistral GGUFs say "llama").
    public static let supportedArchitectures: Set<String> = ["llama"]

    public init(gguf: GGUFFile) throws(ModelLoadError) {
        let m = gguf.metadata
        guard let arch = m["general.architecture"]?.string else {
            throw .corrupt(path: gguf.path, reason: "general.architecture is missing")
        }
        guard Self.supportedArchitectures.contains(arch) else {
            throw .unsupported(path: gguf.path, reason: "model architecture '\(arch.clippedForMessage())' (supported: \(Self.supportedArchitectures.sorted().joined(separator: ", ")))")
        }
        // Every size is checked against a range before anything is derived from it: a corrupt
        // value must not divide by zero, overflow a product, or size an allocation later.
        func int(_ key: String, _ range: ClosedRange<Int>, default value: Int? = nil) throws(ModelLoadError) -> Int {
            guard let v = m["\(arch).\(key)"]?.int ?? value else {
                throw .corrupt(path: gguf.path, reason: "metadata \(arch).\(key) is missing or not an integer")
            }
            guard range.contains(v) else {
                throw .corrupt(path: gguf.path, reason: "metadata \(arch).\(key) is \(v), outside \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }
        let L = Self.limits
        architecture = arch
        layerCount = try int("block_count", 1...L.layers)
        hiddenSize = try int("embedding_length", 1...L.width)
        intermediateSize = try int("feed_forward_length", 1...L.width)
        headCount = try int("attention.head_count", 1...L.heads)
        kvHeadCount = try int("attention.head_count_kv", 1...headCount, default: headCount)
        headDim = try int("attention.key_length", 2...L.headDim, default: hiddenSize / headCount)
        contextLength = try int("context_length", 1...L.context)
        let tokens = m["tokenizer.ggml.tokens"]?.array?.count
        vocabSize = try int("vocab_size", 1...L.vocab, default: tokens ?? gguf.tensor(named: "token_embd.weight")?.shape.last)
        let eps = m["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5
        guard eps.isFinite, eps >= 0, eps < 1 else {
            throw .corrupt(path: gguf.path, reason: "metadata \(arch).attention.layer_norm_rms_epsilon is \(eps), not in [0, 1)")
        }
        rmsNormEps = Float(eps)
        rope = try RopeConfig(metadata: m, architecture: arch, headDim: headDim, path: gguf.path)

        func inconsistent(_ reason: String) -> ModelLoadError { .corrupt(path: gguf.path, reason: "inconsistent hyperparameters: \(reason)") }
        guard headCount % kvHeadCount == 0 else { throw inconsistent("head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)") }
        guard headDim % 2 == 0 else { throw inconsistent("head dimension \(headDim) is odd (rotary pairs need an even one)") }
        guard headCount * headDim <= L.width else { throw inconsistent("head_count × head dimension = \(headCount * headDim) exceeds \(L.width)") }
        // Token ids the tokenizer hands out index the embedding, so it needs a row for each.
        if let tokens, tokens > vocabSize {
            throw inconsistent("the tokenizer has \(tokens) tokens but the vocabulary size is \(vocabSize)")
        }
    }

    /// Upper bounds on hyperparameters, far above any Llama-shaped model (Llama 3.1 405B: 126
    /// layers, width 16384, FFN 53248, 128 heads, vocabularies ≤ 262k, contexts ≤ 10M), so that
    /// products of any two stay far from overflow and nothing sized from them is absurd.
    public static let limits = (layers: 4096, width: 1 << 20, heads: 1 << 14, headDim: 1 << 14,
                                vocab: 1 << 24, context: 1 << 24)
}

/// Rotary position embedding settings (GGUF `rope.*` keys).
public struct RopeConfig: Sendable, Codable, Equatable {
    public var freqBase: Double
    /// Rotated dimensions per head (the rest pass through).
    public var dimensionCount: Int
    /// Linear scaling: positions are divided by this factor.
    public var linearFactor: Double
    /// Llama 3 frequency-dependent scaling, when the metadata describes it.
    public var llama3: Llama3Scaling?

    public struct Llama3Scaling: Sendable, Codable, Equatable {
        public var factor: Double
        public var lowFreqFactor: Double
        public var highFreqFactor: Double
        public var originalContextLength: Double
    }

    init(metadata m: [String: GGUFValue], architecture arch: String, headDim: Int, path: String) throws(ModelLoadError) {
        freqBase = m["\(arch).rope.freq_base"]?.double ?? 10000
        guard freqBase.isFinite, freqBase > 1 else {
            throw .corrupt(path: path, reason: "metadata \(arch).rope.freq_base is \(freqBase), not a finite number above 1")
        }
        dimensionCount = m["\(arch).rope.dimension_count"]?.int ?? headDim
        guard dimensionCount == headDim else {
            throw .unsupported(path: path, reason: "partial rotary embedding (\(dimensionCount) of \(headDim) dims)")
        }
        let type = m["\(arch).rope.scaling.type"]?.string ?? "none"
        let factor = m["\(arch).rope.scaling.factor"]?.double ?? 1
        guard factor.isFinite, factor > 0 else {
            throw .corrupt(path: path, reason: "metadata \(arch).rope.scaling.factor is \(factor), not a finite positive number")
        }
        linearFactor = 1
        switch type {
        case "none": break
        case "linear": linearFactor = factor
        case "llama3":
            let s = Llama3Scaling(
                factor: factor,
                lowFreqFactor: m["\(arch).rope.scaling.low_freq_factor"]?.double ?? 1,
                highFreqFactor: m["\(arch).rope.scaling.high_freq_factor"]?.double ?? 4,
                originalContextLength: m["\(arch).rope.scaling.original_context_length"]?.double ?? 8192)
            // The smoothing step divides by high − low and by each factor.
            guard [s.lowFreqFactor, s.highFreqFactor, s.originalContextLength].allSatisfy({ $0.isFinite && $0 > 0 }),
                  s.highFreqFactor > s.lowFreqFactor else {
                throw .corrupt(path: path, reason: "llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and a positive original_context_length (got \(s.lowFreqFactor), \(s.highFreqFactor), \(s.originalContextLength))")
            }
            llama3 = s
        default:
            throw .unsupported(path: path, reason: "rope scaling type '\(type.clippedForMessage())'")
        }
    }
}
