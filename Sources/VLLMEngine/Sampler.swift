import Foundation

/// Log-probabilities of one step: the chosen token first, then the top alternatives.
public typealias StepLogprobs = [(tokenID: Int, logprob: Double)]

/// Picks the next token from logits and reports logprobs of the model's raw distribution
/// (before temperature, as vLLM reports them by default).
public enum Sampler {
    public static func sample<R: RandomNumberGenerator>(logits: UnsafeBufferPointer<Float>, params: SamplingParams,
                                                         using rng: inout R) -> Int {
        if params.temperature == 0 { return argmax(logits) }
        // Softmax of logits / T in Double, then an inverse-CDF draw.
        let t = Double(params.temperature)
        let m = Double(logits[argmax(logits)])
        var total = 0.0
        let weights = logits.map { l -> Double in
            let w = exp((Double(l) - m) / t)
            total += w
            return w
        }
        var u = Double.random(in: 0..<1, using: &rng) * total
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return i }
        }
        return argmax(logits)
    }

    /// Index of the largest logit (the lowest index on ties, as torch.argmax).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    /// log-softmax of `logits`, computed in Double.
    public static func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
        let m = Double(logits[argmax(logits)])
        let lse = m + log(logits.reduce(0.0) { $0 + exp(Double($1) - m) })
        return logits.map { Double($0) - lse }
    }

    /// The chosen token's logprob followed by the `k` most likely tokens (the chosen one may
    /// appear again among them, as in vLLM's output).
    public static func logprobs(logits: UnsafeBufferPointer<Float>, chosen: Int, k: Int) -> StepLogprobs {
        let lp = logSoftmax(logits)
        let top = lp.indices.sorted { lp[$0] > lp[$1] || (lp[$0] == lp[$1] && $0 < $1) }.prefix(k)
        return [(chosen, lp[chosen])] + top.map { ($0, lp[$0]) }
    }

    // Arrays (tests, single-sequence callers) go through the buffer versions.

    public static func sample<R: RandomNumberGenerator>(logits: [Float], params: SamplingParams, using rng: inout R) -> Int {
        logits.withUnsafeBufferPointer { sample(logits: $0, params: params, using: &rng) }
    }

    public static func argmax(_ logits: [Float]) -> Int { logits.withUnsafeBufferPointer { argmax($0) } }

    public static func logprobs(logits: [Float], chosen: Int, k: Int) -> StepLogprobs {
        logits.withUnsafeBufferPointer { logprobs(logits: $0, chosen: chosen, k: k) }
    }
}
