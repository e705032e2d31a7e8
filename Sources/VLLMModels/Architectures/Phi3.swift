import Foundation

extension ModelArchitecture {
    /// Phi-3 / Phi-3.5 / Phi-4-mini: Llama with fused `qkv_proj` and `gate_up_proj` (GGUF:
    /// `attn_qkv`, and gate and up in one `ffn_up`), partial rotary embedding where the config
    /// says so, LongRoPE scaling (GGUF: `rope_factors_short/long` tensors), and an optional window.
    static let phi3 = ModelArchitecture(name: "Phi3ForCausalLM", ggufName: "phi3", ggufRopeStyle: .rotateHalf) { c, j throws(ModelLoadError) in
        try c.readSlidingWindow(j)
    } configureGGUF: { c, gguf throws(ModelLoadError) in
        guard let long = try gguf.floatVector("rope_factors_long.weight") else { return }
        guard let short = try gguf.floatVector("rope_factors_short.weight") else {
            throw .corrupt(path: gguf.path, reason: "rope_factors_long.weight without rope_factors_short.weight")
        }
        let m = gguf.metadata
        guard let original = m["phi3.rope.scaling.original_context_length"]?.double, original > 1 else {
            throw .corrupt(path: gguf.path, reason: "phi3.rope.scaling.original_context_length is missing or not above 1")
        }
        let factor = Double(c.contextLength) / original
        let attention = m["phi3.rope.scaling.attn_factor"]?.double ?? (factor <= 1 ? 1 : (1 + log(factor) / log(original)).squareRoot())
        guard attention.isFinite, attention > 0, (short + long).allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .corrupt(path: gguf.path, reason: "LongRoPE factors and attention factor must be finite positive numbers")
        }
        c.rope.scaling = .longRoPE(.init(shortFactors: short, longFactors: long, originalContextLength: original, attentionFactor: attention))
    }
}

extension GGUFFile {
    /// An F32 vector tensor's values, or nil when the file has no tensor of that name.
    func floatVector(_ name: String) throws(ModelLoadError) -> [Double]? {
        guard let t = tensor(named: name) else { return nil }
        guard t.type == .f32, t.shape.count == 1 else {
            throw .corrupt(path: path, reason: "tensor \(name) is \(t.type) of shape \(t.shape), expected an F32 vector")
        }
        let p = data(of: t).assumingMemoryBound(to: Float.self)
        return (0..<t.shape[0]).map { Double(p[$0]) }
    }
}
