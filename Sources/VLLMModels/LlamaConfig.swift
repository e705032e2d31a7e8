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
            throw .unsupported(path: gguf.path, reason: "model architecture '\(arch)' (supported: \(Self.supportedArchitectures.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String, default value: Int? = nil) throws(ModelLoadError) -> Int {
            if let v = m["\(arch).\(key)"]?.int { return v }
            if let value { return value }
            throw .corrupt(path: gguf.path, reason: "metadata \(arch).\(key) is missing or not an integer")
        }
        architecture = arch
        layerCount = try int("block_count")
        hiddenSize = try int("embedding_length")
        intermediateSize = try int("feed_forward_length")
        headCount = try int("attention.head_count")
        kvHeadCount = try int("attention.head_count_kv", default: headCount)
        headDim = try int("attention.key_length", default: headCount > 0 ? hiddenSize / headCount : 0)
        contextLength = try int("context_length")
        let tokens = m["tokenizer.ggml.tokens"]?.array?.count
        vocabSize = try int("vocab_size", default: tokens ?? gguf.tensor(named: "token_embd.weight")?.shape.last)
        rmsNormEps = Float(m["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        rope = try RopeConfig(metadata: m, architecture: arch, headDim: headDim, path: gguf.path)

        guard layerCount > 0, hiddenSize > 0, intermediateSize > 0, headCount > 0, kvHeadCount > 0,
              headCount % kvHeadCount == 0, headDim > 0, headDim % 2 == 0, vocabSize > 0, contextLength > 0 else {
            throw .corrupt(path: gguf.path, reason: "inconsistent hyperparameters \(self)")
        }
    }
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
        dimensionCount = m["\(arch).rope.dimension_count"]?.int ?? headDim
        guard dimensionCount == headDim else {
            throw .unsupported(path: path, reason: "partial rotary embedding (\(dimensionCount) of \(headDim) dims)")
        }
        let type = m["\(arch).rope.scaling.type"]?.string ?? "none"
        let factor = m["\(arch).rope.scaling.factor"]?.double ?? 1
        linearFactor = 1
        switch type {
        case "none": break
        case "linear": linearFactor = factor
        case "llama3":
            llama3 = Llama3Scaling(
                factor: factor,
                lowFreqFactor: m["\(arch).rope.scaling.low_freq_factor"]?.double ?? 1,
                highFreqFactor: m["\(arch).rope.scaling.high_freq_factor"]?.double ?? 4,
                originalContextLength: m["\(arch).rope.scaling.original_context_length"]?.double ?? 8192)
        default:
            throw .unsupported(path: path, reason: "rope scaling type '\(type)'")
        }
    }
}
