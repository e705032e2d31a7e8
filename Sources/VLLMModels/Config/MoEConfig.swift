/// A mixture-of-experts MLP's shape: `experts` gated MLPs of `intermediateSize` each, a router
/// choosing per token as `routing` says.
public struct MoEConfig: Sendable, Equatable, Codable {
    public var experts: Int
    public var intermediateSize: Int
    public var routing: MoERouting
    /// An expert every token also runs, its output scaled by a sigmoid gate (Qwen2-MoE's
    /// `shared_expert`), of this intermediate size; nil when there is none.
    public var sharedIntermediateSize: Int? = nil
    public var activation: MoEActivation = .silu
    /// The router and every expert projection carry a bias (gpt-oss).
    public var biases = false

    /// From config.json: the expert count (`num_local_experts`, or Qwen's `num_experts`), experts
    /// per token, each expert's size (`moe_intermediate_size`, else `intermediate_size`);
    /// `renormalize` unless the file says otherwise in `norm_topk_prob`.
    static func hf(_ j: HFConfigJSON, renormalizeByDefault: Bool) throws(ModelLoadError) -> MoEConfig {
        let r = j.reader, L = ModelConfig.limits
        let experts = try r.int(j.has("num_experts") ? "num_experts" : "num_local_experts", 1...L.experts)
        let size = try r.int(j.has("moe_intermediate_size") ? "moe_intermediate_size" : "intermediate_size", 1...L.width)
        let shared = j.has("shared_expert_intermediate_size") ? try r.int("shared_expert_intermediate_size", 1...L.width) : nil
        return MoEConfig(experts: experts, intermediateSize: size,
                         routing: MoERouting(topK: try r.int("num_experts_per_tok", 1...experts),
                                             renormalize: j.bool("norm_topk_prob") ?? renormalizeByDefault),
                         sharedIntermediateSize: shared)
    }

    /// From GGUF metadata (`<arch>.expert_count`, `expert_used_count`, `expert_feed_forward_length`
    /// or `feed_forward_length`, `expert_shared_feed_forward_length`); nil for a dense model.
    /// llama.cpp renormalizes the chosen experts' weights for Llama-family (Mixtral) and
    /// Qwen3-MoE files, and so do we (architectures that do not say so in `configureGGUF`).
    static func gguf(_ gguf: GGUFFile, arch: String) throws(ModelLoadError) -> MoEConfig? {
        let m = gguf.metadata
        guard let count = m["\(arch).expert_count"]?.int, count > 0 else { return nil }
        let r = ConfigReader(path: gguf.path, prefix: "\(arch).", lookup: { m[$0]?.int }, present: { m[$0] != nil })
        let experts = try r.int("expert_count", 1...ModelConfig.limits.experts)
        let size = try r.int(m["\(arch).expert_feed_forward_length"] != nil ? "expert_feed_forward_length" : "feed_forward_length",
                             1...ModelConfig.limits.width)
        let shared = m["\(arch).expert_shared_feed_forward_length"] != nil
            ? try r.int("expert_shared_feed_forward_length", 1...ModelConfig.limits.width) : nil
        return MoEConfig(experts: experts, intermediateSize: size,
                         routing: MoERouting(topK: try r.int("expert_used_count", 1...experts), renormalize: true),
                         sharedIntermediateSize: shared)
    }
}
