import CKernels
import Foundation

/// Raw model logprobs: log-softmax of the logits before any penalty, bias, mask or temperature
/// (vLLM's default `logprobs_mode`, `raw_logprobs`).
extension Sampler {
    /// log-softmax of `logits`, computed in Double.
    public static func logSoftmax(_ logits: some LogitsRow) -> [Double] {
        let lse = logSumExp(logits)
        return logits.map { Double($0) - lse }
    }

    /// The raw logprob of one token.
    public static func logprob(logits: some LogitsRow, of token: Int) -> Double {
        if let r = logits.withContiguousStorageIfAvailable({ Double($0[token]) - logSumExpRow($0) }) { return r }
        return Double(logits[token]) - logSumExp(logits)
    }

    /// log-sum-exp of a contiguous row, in the SIMD kernel (the per-token cost of tracking
    /// cumulative logprobs stays small).
    static func logSumExpRow(_ logits: UnsafeBufferPointer<Float>) -> Double {
        vk_log_sum_exp(logits.baseAddress!, Int64(logits.count))
    }

    static func logSumExp(_ logits: some LogitsRow) -> Double {
        let m = Double(logits[argmax(logits)])
        return m + log(logits.reduce(0.0) { $0 + exp(Double($1) - m) })
    }

    /// A token's rank among all tokens by logprob, as vLLM reports it: 1 + the number of other
    /// tokens at least as likely (ties rank below).
    public static func rank(logits: some LogitsRow, of token: Int) -> Int {
        let x = logits[token]
        return logits.reduce(0) { $1 >= x ? $0 + 1 : $0 }
    }

    /// The chosen token's logprob followed by the `k` most likely tokens (the chosen one may
    /// appear again among them, as in vLLM's output). Raw model logprobs (see the type's doc).
    public static func logprobs(logits: some LogitsRow, chosen: Int, k: Int) -> StepLogprobs {
        if let r = logits.withContiguousStorageIfAvailable({ logprobsRow($0, chosen: chosen, k: k) }) { return r }
        return Array(logits).withUnsafeBufferPointer { logprobsRow($0, chosen: chosen, k: k) }
    }

    static func logprobsRow(_ logits: UnsafeBufferPointer<Float>, chosen: Int, k: Int) -> StepLogprobs {
        let lse = logSumExp(logits)
        var top: [Int] = []  // ascending by (value, then higher index first): a size-k min-heap
        func below(_ a: Int, _ b: Int) -> Bool { logits[a] < logits[b] || (logits[a] == logits[b] && a > b) }
        if k > 0 {
            top.reserveCapacity(k)
            for i in logits.indices {
                if top.count < k {
                    top.append(i)
                    var c = top.count - 1
                    while c > 0 {
                        let p = (c - 1) / 2
                        if !below(top[c], top[p]) { break }
                        top.swapAt(p, c)
                        c = p
                    }
                } else if below(top[0], i) {
                    top[0] = i
                    var p = 0
                    while true {
                        let l = 2 * p + 1, r = l + 1
                        var s = p
                        if l < top.count && below(top[l], top[s]) { s = l }
                        if r < top.count && below(top[r], top[s]) { s = r }
                        if s == p { break }
                        top.swapAt(p, s)
                        p = s
                    }
                }
            }
            top.sort { below($1, $0) }
        }
        return [(chosen, Double(logits[chosen]) - lse)] + top.map { ($0, Double(logits[$0]) - lse) }
    }
}
