/// Why a LoRA adapter could not be loaded. Every message names the adapter's path and the problem.
public enum LoRAError: Error, Equatable, CustomStringConvertible {
    /// The path does not exist or is not a readable directory.
    case notFound(path: String, reason: String)
    /// A directory without a PEFT LoRA adapter in it (no or bad `adapter_config.json`, no weights).
    case notAnAdapter(path: String, reason: String)
    /// The adapter's rank exceeds `--max-lora-rank`.
    case rankTooLarge(path: String, rank: Int, maxRank: Int)
    /// The adapter targets modules this model has no LoRA support for.
    case unsupportedTargets(path: String, modules: [String])
    /// The weights don't fit the model (shapes, layer indices, missing halves).
    case mismatch(path: String, reason: String)
    /// A PEFT feature this engine does not implement (DoRA, biases, per-module ranks, …); the
    /// reason is a sentence, in vLLM's words where vLLM refuses the same.
    case unsupported(path: String, reason: String)
    /// The weight file itself is unreadable or corrupt.
    case file(ModelLoadError)

    public var description: String {
        switch self {
        case let .notFound(p, r): "no LoRA adapter at \(p): \(r)"
        case let .notAnAdapter(p, r): "\(p) is not a LoRA adapter: \(r)"
        case let .rankTooLarge(p, r, m):
            "LoRA rank \(r) is greater than max_lora_rank \(m): adapter \(p) (raise --max-lora-rank)"
        case let .unsupportedTargets(p, m):
            "LoRA adapter \(p) targets \(m.joined(separator: ", ")), which this model does not have (supported: \(LoRATarget.moduleNames.joined(separator: ", ")))"
        case let .mismatch(p, r): "LoRA adapter \(p) does not fit the model: \(r)"
        case let .unsupported(p, r): "LoRA adapter \(p): \(r)"
        case let .file(e): e.description
        }
    }
}

/// The linear layers of a Llama decoder layer an adapter may target, by their Hugging Face
/// module names (PEFT's `target_modules` vocabulary).
public enum LoRATarget: String, CaseIterable, Sendable, Hashable {
    case qProj = "q_proj", kProj = "k_proj", vProj = "v_proj", oProj = "o_proj"
    case gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj"

    /// The module's full name inside layer `layer` of a Hugging Face `LlamaForCausalLM`
    /// (without the `base_model.model.` prefix PEFT adds).
    public func moduleName(layer: Int) -> String { Self.moduleName(rawValue, layer: layer) }

    /// Fused projections adapters are trained on where the architecture fuses them (Phi-3;
    /// vLLM's `packed_modules_mapping`): one lora_A shared by the parts, lora_B's rows split
    /// among them in this order.
    static let packed: [String: [LoRATarget]] = ["qkv_proj": [.qProj, .kProj, .vProj], "gate_up_proj": [.gateProj, .upProj]]

    /// Every module name an adapter may use, packed ones included.
    static var moduleNames: [String] { allCases.map(\.rawValue) + packed.keys.sorted() }

    /// The targets module `name` (e.g. "q_proj", "qkv_proj") stands for; nil for an unknown one.
    static func targets(module name: String) -> [LoRATarget]? {
        if let t = LoRATarget(rawValue: name) { return [t] }
        return packed[name]
    }

    static func moduleName(_ module: String, layer: Int) -> String {
        let block = ["gate_proj", "up_proj", "down_proj", "gate_up_proj"].contains(module) ? "mlp" : "self_attn"
        return "model.layers.\(layer).\(block).\(module)"
    }

    /// (outputs, inputs) of the base weight in `config`.
    public func dimensions(_ c: ModelConfig) -> (out: Int, in: Int) {
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim
        switch self {
        case .qProj: return (q, c.hiddenSize)
        case .kProj, .vProj: return (kv, c.hiddenSize)
        case .oProj: return (c.hiddenSize, q)
        case .gateProj, .upProj: return (c.intermediateSize, c.hiddenSize)
        case .downProj: return (c.hiddenSize, c.intermediateSize)
        }
    }
}
