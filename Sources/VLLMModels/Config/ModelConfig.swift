/// How Q and K rows pair up for rotary embedding.
public enum RopeStyle: String, Sendable, Codable {
    /// Pair i is rows 2i and 2i + 1: llama.cpp's converter permutes Llama-family Q/K weights so
    /// (GGUF "llama" files).
    case adjacentPairs
    /// Pair i is rows i and i + headDim/2: Hugging Face checkpoints, and GGUF files of NeoX-style
    /// architectures (qwen2, qwen3), whose weights the converter leaves in that order.
    case rotateHalf
}

/// The gated MLP's activation: act(gate) * up.
public enum MLPActivation: String, Sendable, Codable {
    case silu
    /// PyTorch's gelu(approximate="tanh") (Gemma's `gelu_pytorch_tanh`).
    case geluTanh
}

/// Hyperparameters of a decoder-only transformer, read from GGUF metadata or a Hugging Face
/// `config.json`, with the architecture's features switched on.
public struct ModelConfig: Sendable, Codable, Equatable {
    /// The registry name (the Hugging Face `architectures` entry, e.g. "Qwen2ForCausalLM").
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
    public var ropeStyle: RopeStyle
    /// Q, K and V projections carry a bias (Qwen2).
    public var attentionBias = false
    /// The attention output projection carries a bias (gpt-oss).
    public var attentionOutputBias = false
    /// Each attention layer has a learned per-head sink logit: one more softmax term that
    /// carries no value (gpt-oss).
    public var attentionSinks = false
    /// Q and K are RMS-normalized per head before the rotation (Qwen3).
    public var qkNorm = false
    /// Each token attends to at most this many positions, its own included (Mistral).
    public var slidingWindow: Int?
    /// The layers the window applies to; nil: all of them.
    public var slidingWindowLayers: [Int]?
    /// The rotary embedding of the sliding-window layers when it differs from `rope` (Gemma 3:
    /// local layers keep base 10k without scaling).
    public var localRope: RopeConfig?
    /// Added to every RMSNorm weight at load: Gemma checkpoints store w for a scale of (1 + w);
    /// llama.cpp's converter adds the 1 into GGUF files.
    public var normWeightOffset: Float = 0
    /// RMSNorms on the attention and MLP outputs before each residual add (Gemma 2 / 3).
    public var sandwichNorms = false
    public var activation: MLPActivation = .silu
    /// Multiplies the embedding rows (Gemma: √hidden).
    public var embeddingScale: Float?
    /// Attention scores are soft-capped to cap·tanh(s/cap) (Gemma 2).
    public var attentionSoftcap: Float?
    /// Final logits are soft-capped the same way (Gemma 2).
    public var finalLogitSoftcap: Float?
    /// The attention score scale; nil: 1/√headDim (Gemma: query_pre_attn_scalar^-½).
    public var attentionScale: Float?
    /// The MLP as a mixture of experts (Mixtral, Qwen3-MoE), in every layer; nil for dense models.
    public var moe: MoEConfig?

    /// The rotary embedding `layer` uses.
    public func rope(layer: Int) -> RopeConfig {
        slidingWindow(layer: layer) != nil ? localRope ?? rope : rope
    }

    /// The attention window of `layer`, if it has one.
    public func slidingWindow(layer: Int) -> Int? {
        guard let w = slidingWindow else { return nil }
        return slidingWindowLayers.map { $0.contains(layer) } ?? true ? w : nil
    }

    /// Upper bounds on hyperparameters, far above any supported model (Llama 3.1 405B: 126
    /// layers, width 16384, FFN 53248, 128 heads, vocabularies ≤ 262k, contexts ≤ 10M), so that
    /// products of any two stay far from overflow and nothing sized from them is absurd.
    public static let limits = (layers: 4096, width: 1 << 20, heads: 1 << 14, headDim: 1 << 14,
                                vocab: 1 << 24, context: 1 << 24, experts: 1 << 12)

    /// Checks what ranges alone cannot: relations between the sizes.
    func checkConsistency(path: String) throws(ModelLoadError) {
        func inconsistent(_ reason: String) -> ModelLoadError { .corrupt(path: path, reason: "inconsistent hyperparameters: \(reason)") }
        guard headCount % kvHeadCount == 0 else { throw inconsistent("head count \(headCount) is not a multiple of the KV head count \(kvHeadCount)") }
        guard headDim % 2 == 0 else { throw inconsistent("head dimension \(headDim) is odd (rotary pairs need an even one)") }
        guard headCount * headDim <= Self.limits.width else { throw inconsistent("head count × head dimension = \(headCount * headDim) exceeds \(Self.limits.width)") }
        for r in [rope] + (localRope.map { [$0] } ?? []) {
            guard r.dimensionCount <= headDim, r.dimensionCount >= 2, r.dimensionCount % 2 == 0 else {
                throw inconsistent("rotary dimension count \(r.dimensionCount) is not an even number in 2...\(headDim)")
            }
            if case let .longRoPE(s) = r.scaling, s.shortFactors.count != r.dimensionCount / 2 || s.longFactors.count != r.dimensionCount / 2 {
                throw inconsistent("longrope factors have \(s.shortFactors.count) and \(s.longFactors.count) entries for \(r.dimensionCount / 2) rotary pairs")
            }
        }
        if let w = slidingWindow, w < 1 { throw inconsistent("sliding window \(w) is not positive") }
        if let m = moe, !(1...m.experts).contains(m.routing.topK) {
            throw inconsistent("\(m.routing.topK) experts per token out of \(m.experts)")
        }
        for (name, v) in [("attention soft-cap", attentionSoftcap), ("final logit soft-cap", finalLogitSoftcap),
                          ("attention scale", attentionScale), ("embedding scale", embeddingScale)] {
            if let v, !(v.isFinite && v > 0) { throw inconsistent("\(name) \(v) is not a finite positive number") }
        }
    }
}

/// Reads sizes from a model's metadata with range checks: a corrupt value must not divide by
/// zero, overflow a product, or size an allocation later.
struct ConfigReader {
    let path: String
    /// Put before every key (GGUF: "llama.").
    var prefix = ""
    /// The value of a key (named in errors as given: "llama.block_count", "num_hidden_layers"),
    /// or nil when it is absent or not an integer.
    let lookup: (String) -> Int?
    /// Whether the key is present at all (a present non-integer is an error, not a default).
    let present: (String) -> Bool

    func int(_ name: String, _ range: ClosedRange<Int>, default value: Int? = nil) throws(ModelLoadError) -> Int {
        let key = prefix + name
        guard let v = lookup(key) ?? (present(key) ? nil : value) else {
            throw .corrupt(path: path, reason: "\(key) is missing or not an integer")
        }
        guard range.contains(v) else {
            throw .corrupt(path: path, reason: "\(key) is \(v), outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
}
