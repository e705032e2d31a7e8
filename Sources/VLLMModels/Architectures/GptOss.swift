extension ModelArchitecture {
    /// gpt-oss: biases on Q/K/V and the attention output, a learned sink logit per head in every
    /// attention softmax, 128-token sliding windows on the even layers (`layer_types`), YaRN
    /// without truncating the correction range (as OpenAI's implementation and transformers
    /// compute it; llama.cpp rounds the range, which moves logits by a little), and a mixture of
    /// experts in every layer: the router (with a bias) picks the top k logits and softmaxes
    /// them, experts are biased gated MLPs with the clamped SwiGLU (`swiglu_alpha`,
    /// `swiglu_limit`).
    static let gptOss = ModelArchitecture(name: "GptOssForCausalLM", ggufName: "gpt-oss", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        c.attentionBias = j.bool("attention_bias") ?? true
        c.attentionOutputBias = c.attentionBias
        c.attentionSinks = true
        try c.readSlidingWindow(j)
        if c.slidingWindow != nil, c.slidingWindowLayers == nil {
            c.slidingWindowLayers = ModelConfig.localLayers(count: c.layerCount, pattern: 2)
        }
        var moe = try MoEConfig.hf(j, renormalizeByDefault: true)
        let alpha = j.double("swiglu_alpha") ?? 1.702, limit = j.double("swiglu_limit") ?? 7
        guard alpha.isFinite, alpha > 0, limit.isFinite, limit > 0 else {
            throw .corrupt(path: j.path, reason: "swiglu_alpha \(alpha) and swiglu_limit \(limit) must be finite positive numbers")
        }
        moe.activation = .swigluOAI(alpha: Float(alpha), limit: Float(limit))
        moe.biases = true
        c.moe = moe
    } configureGGUF: { c, gguf throws(ModelLoadError) in
        // llama.cpp's graph has the biases and sinks whatever the file says, and fixes the
        // SwiGLU constants at gpt-oss's.
        c.attentionOutputBias = true
        c.attentionSinks = true
        if c.slidingWindow != nil {
            c.slidingWindowLayers = ModelConfig.localLayers(count: c.layerCount, pattern: 2)
        }
        guard var moe = c.moe else { throw .corrupt(path: gguf.path, reason: "gpt-oss.expert_count is missing") }
        moe.activation = .swigluOAI(alpha: 1.702, limit: 7)
        moe.biases = true
        c.moe = moe
        if case var .yarn(s) = c.rope.scaling {
            s.truncate = false
            c.rope.scaling = .yarn(s)
        }
    }
}
