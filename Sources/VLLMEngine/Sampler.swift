import Foundation
import VLLMStructuredOutput

/// Log-probabilities of one step: the chosen token first, then the top alternatives.
public typealias StepLogprobs = [(tokenID: Int, logprob: Double)]

/// A row of logits: an array, or a row of a forward batch's `Logits`.
public protocol LogitsRow: RandomAccessCollection where Element == Float, Index == Int {}
extension Array: LogitsRow where Element == Float {}
extension UnsafeBufferPointer: LogitsRow where Element == Float {}

/// What the sampler must know about a request's tokens so far: the prompt (repetition
/// penalty), the output token counts (all penalties) and how many were generated (min_tokens).
public struct SamplingHistory: Sendable {
    /// Distinct prompt tokens; filled only when the repetition penalty is on.
    public private(set) var promptTokens: Set<Int> = []
    /// Occurrences of each output token.
    public private(set) var outputCounts: [Int: Int] = [:]
    public private(set) var numOutputTokens = 0
    /// The output so far; kept only when bad words need it.
    public private(set) var outputTokenIDs: [Int] = []
    let keepsOutput: Bool
    public let eosTokenID: Int?

    public init(promptTokenIDs: [Int] = [], eosTokenID: Int? = nil, params: SamplingParams = SamplingParams()) {
        self.eosTokenID = eosTokenID
        keepsOutput = !params.badWordsTokenIDs.isEmpty
        if params.repetitionPenalty != 1 { promptTokens = Set(promptTokenIDs) }
    }

    public mutating func append(_ token: Int) {
        outputCounts[token, default: 0] += 1
        numOutputTokens += 1
        if keepsOutput { outputTokenIDs.append(token) }
    }
}

/// Scratch buffers one sampler caller reuses from row to row, so a step allocates nothing of
/// vocabulary size per token.
public final class SamplerWorkspace {
    var values: [Float] = []
    var indices: [Int32] = []
    public init() {}
}

/// Picks the next token from logits. The transforms run in vLLM V1's order: allowed_token_ids
/// mask, logit_bias, min_tokens (EOS and stop token ids masked), repetition then frequency and
/// presence penalties; greedy (temperature 0) is the argmax after these; otherwise temperature,
/// min_p, top_k, top_p, then a draw from the request's own random stream.
///
/// Logprobs (`logprobs(logits:chosen:k:)`) are those of the raw model distribution, before any
/// penalty, bias, mask or temperature: vLLM's default `logprobs_mode`, `raw_logprobs`. A
/// structured-output constraint comes before all of this (`masked(_:by:)`), so a constrained
/// request's logprobs are over its allowed tokens, as in vLLM.
public enum Sampler {
    /// vLLM raises positive temperatures below this to it (numerical safety).
    public static let minTemperature: Float = 0.01

    public static func sample<R: RandomNumberGenerator>(logits: some LogitsRow, params: SamplingParams,
                                                         history: SamplingHistory? = nil,
                                                         workspace: SamplerWorkspace? = nil,
                                                         using rng: inout R) -> Int {
        // One concrete row type, so the per-token loops are specialized whoever calls.
        if let token = logits.withContiguousStorageIfAvailable({
            sampleRow($0, params: params, history: history, workspace: workspace, using: &rng)
        }) { return token }
        return Array(logits).withUnsafeBufferPointer {
            sampleRow($0, params: params, history: history, workspace: workspace, using: &rng)
        }
    }

    static func sampleRow<R: RandomNumberGenerator>(_ logits: UnsafeBufferPointer<Float>, params: SamplingParams,
                                                     history: SamplingHistory?, workspace: SamplerWorkspace?,
                                                     using rng: inout R) -> Int {
        let minTokensActive = params.minTokens > 0 && (history?.numOutputTokens ?? 0) < params.minTokens
        let rewrites = params.allowedTokenIDs != nil || !params.logitBias.isEmpty || minTokensActive
            || !params.badWordsTokenIDs.isEmpty
            || (params.usesPenalties && history != nil)
        if params.temperature == 0 && !rewrites { return argmax(logits) }
        let ws = workspace ?? SamplerWorkspace()
        ws.values.removeAll(keepingCapacity: true)
        ws.values.append(contentsOf: logits)
        return ws.values.withUnsafeMutableBufferPointer { w in
            applyLogitsRewrites(w, params: params, history: history, minTokensActive: minTokensActive)
            if params.temperature == 0 { return argmax(UnsafeBufferPointer(w)) }
            return draw(w, params: params, indices: &ws.indices, using: &rng)
        }
    }

    /// The row with every token the grammar mask disallows at -inf.
    public static func masked(_ logits: UnsafeBufferPointer<Float>, by mask: TokenBitmask) -> [Float] {
        var out = [Float](repeating: -.infinity, count: logits.count)
        // Word by word: a constrained row usually allows few tokens, or (inside a string) most.
        let n = min(logits.count, mask.vocabSize)
        for (w, word) in mask.words.enumerated() where word != 0 {
            let base = w << 5
            if word == ~0 && base + 32 <= n {
                for i in base..<base + 32 { out[i] = logits[i] }
                continue
            }
            var bits = word
            while bits != 0 {
                let i = base + bits.trailingZeroBitCount
                if i < n { out[i] = logits[i] }
                bits &= bits - 1
            }
        }
        return out
    }

    /// Masks, bias, min_tokens and penalties, in place.
    static func applyLogitsRewrites(_ w: UnsafeMutableBufferPointer<Float>, params: SamplingParams,
                                    history: SamplingHistory?, minTokensActive: Bool) {
        let v = w.count
        if let allowed = params.allowedTokenIDs {
            let kept = allowed.filter { (0..<v).contains($0) }.map { ($0, w[$0]) }
            for i in 0..<v { w[i] = -.infinity }
            for (i, x) in kept { w[i] = x }
        }
        // Bad words: a one-token word is always banned; a longer one bans its last token when
        // the output ends with the rest (vLLM checks the output only, not the prompt).
        let output = history?.outputTokenIDs ?? []
        for word in params.badWordsTokenIDs {
            guard let last = word.last, (0..<v).contains(last), word.count - 1 <= output.count else { continue }
            if word.count == 1 || output.suffix(word.count - 1).elementsEqual(word.dropLast()) { w[last] = -.infinity }
        }
        for (i, b) in params.logitBias where (0..<v).contains(i) { w[i] += b }
        if minTokensActive {
            for i in params.stopTokenIDs where (0..<v).contains(i) { w[i] = -.infinity }
            if !params.ignoreEOS, let e = history?.eosTokenID, (0..<v).contains(e) { w[e] = -.infinity }
        }
        if let h = history, params.usesPenalties {
            let rp = params.repetitionPenalty
            if rp != 1 {
                func penalize(_ i: Int) { w[i] = w[i] > 0 ? w[i] / rp : w[i] * rp }
                for i in h.promptTokens where (0..<v).contains(i) { penalize(i) }
                for i in h.outputCounts.keys where (0..<v).contains(i) && !h.promptTokens.contains(i) { penalize(i) }
            }
            for (i, count) in h.outputCounts where (0..<v).contains(i) {
                w[i] -= params.frequencyPenalty * Float(count) + params.presencePenalty
            }
        }
    }

    /// Temperature, min_p, top_k, top_p, then an inverse-CDF draw over what is left.
    static func draw<R: RandomNumberGenerator>(_ w: UnsafeMutableBufferPointer<Float>, params: SamplingParams,
                                                indices: inout [Int32], using rng: inout R) -> Int {
        let v = w.count
        guard let (m, explicit) = filter(w, params: params, indices: &indices) else { return 0 }
        // Draw: weights relative to the maximum, which every filter keeps.
        var total = 0.0
        if explicit {
            for i in indices { total += exp(Double(w[Int(i)] - m)) }
            var u = Double.random(in: 0..<1, using: &rng) * total
            for i in indices {
                u -= exp(Double(w[Int(i)] - m))
                if u < 0 { return Int(i) }
            }
            return Int(indices.first ?? 0)
        }
        for i in 0..<v {
            let e = Float(exp(Double(w[i] - m)))
            w[i] = e
            total += Double(e)
        }
        var u = Double.random(in: 0..<1, using: &rng) * total
        var last = 0
        for i in 0..<v where w[i] > 0 {
            u -= Double(w[i])
            if u < 0 { return i }
            last = i
        }
        return last
    }

    /// Temperature, min_p, top_k and top_p on `w`. Returns the maximum of the scaled logits
    /// and whether the candidates are the explicit list `indices` (else: every finite entry
    /// of `w`); nil when no token is left.
    static func filter(_ w: UnsafeMutableBufferPointer<Float>, params: SamplingParams,
                       indices: inout [Int32]) -> (max: Float, explicit: Bool)? {
        let v = w.count
        let t = max(params.temperature, minTemperature)
        var m = -Float.infinity
        for i in 0..<v {
            w[i] /= t
            m = max(m, w[i])
        }
        guard m > -.infinity else { return nil }
        if params.minP > 0 {
            let floor = m + log(params.minP)
            for i in 0..<v where w[i] < floor { w[i] = -.infinity }
        }
        // The candidate set: every token, or an explicit index list once top-k/top-p cut it.
        var explicit = false
        if params.topK > 0 && params.topK < v {
            let theta = kthLargest(UnsafeBufferPointer(w), params.topK)
            indices.removeAll(keepingCapacity: true)
            for i in 0..<v where w[i] >= theta && w[i] > -.infinity { indices.append(Int32(i)) }
            explicit = true
        }
        if params.topP < 1 {
            if !explicit {
                indices.removeAll(keepingCapacity: true)
                for i in 0..<v where w[i] > -.infinity { indices.append(Int32(i)) }
                explicit = true
            }
            var total = 0.0
            for i in indices { total += exp(Double(w[Int(i)] - m)) }
            keepNucleus(UnsafeBufferPointer(w), &indices, mass: Double(params.topP) * total, max: m)
        }
        return (m, explicit)
    }

    /// The logits after every rewrite and filter of a non-greedy draw, with -inf for tokens
    /// that cannot be drawn (for tests and inspection; the sampler does not build this).
    static func processedLogits(_ logits: [Float], params: SamplingParams, history: SamplingHistory? = nil) -> [Float] {
        var w = logits
        var indices: [Int32] = []
        let minTokensActive = params.minTokens > 0 && (history?.numOutputTokens ?? 0) < params.minTokens
        let kept: (max: Float, explicit: Bool)? = w.withUnsafeMutableBufferPointer { b in
            applyLogitsRewrites(b, params: params, history: history, minTokensActive: minTokensActive)
            return filter(b, params: params, indices: &indices)
        }
        guard let kept else { return w }
        if kept.explicit {
            let keep = Set(indices.map(Int.init))
            for i in w.indices where !keep.contains(i) { w[i] = -.infinity }
        }
        return w
    }

    /// The k-th largest value of `w` (a size-k min-heap: O(vocab log k), no sort).
    static func kthLargest(_ w: UnsafeBufferPointer<Float>, _ k: Int) -> Float {
        var h: [Float] = []
        h.reserveCapacity(k)
        for x in w {
            if h.count < k {
                h.append(x)
                var c = h.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if h[p] <= h[c] { break }
                    h.swapAt(p, c)
                    c = p
                }
            } else if x > h[0] {
                h[0] = x
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var s = p
                    if l < k && h[l] < h[s] { s = l }
                    if r < k && h[r] < h[s] { s = r }
                    if s == p { break }
                    h.swapAt(p, s)
                    p = s
                }
            }
        }
        return h[0]
    }

    /// Cuts `indices` to the most likely tokens, in descending order, while the mass of the
    /// tokens ranked above stays below `mass` (vLLM's rule: a token goes when the tokens below
    /// it and itself hold at most 1 - p). A max-heap, popped only as far as needed.
    static func keepNucleus(_ w: UnsafeBufferPointer<Float>, _ indices: inout [Int32], mass: Double, max m: Float) {
        // Higher value first; lower index first on ties.
        func above(_ a: Int32, _ b: Int32) -> Bool { w[Int(a)] > w[Int(b)] || (w[Int(a)] == w[Int(b)] && a < b) }
        var n = indices.count
        func siftDown(_ start: Int) {
            var p = start
            while true {
                let l = 2 * p + 1, r = l + 1
                var s = p
                if l < n && above(indices[l], indices[s]) { s = l }
                if r < n && above(indices[r], indices[s]) { s = r }
                if s == p { return }
                indices.swapAt(p, s)
                p = s
            }
        }
        if n > 1 { for i in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(i) } }
        // Popped tokens go to the back of the array, so the kept ones end up as its suffix.
        var prefix = 0.0
        var kept = 0
        while n > 0 && (kept == 0 || prefix < mass) {
            let top = indices[0]
            prefix += exp(Double(w[Int(top)] - m))
            n -= 1
            indices.swapAt(0, n)
            siftDown(0)
            kept += 1
        }
        indices = Array(indices[n...].reversed())
    }

    /// Index of the largest logit (the lowest index on ties, as torch.argmax).
    public static func argmax(_ logits: some LogitsRow) -> Int {
        // Through one concrete type: callers in other modules would get the slow generic loop.
        if let i = logits.withContiguousStorageIfAvailable(argmaxRow) { return i }
        return Array(logits).withUnsafeBufferPointer(argmaxRow)
    }

    static func argmaxRow(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }
}
