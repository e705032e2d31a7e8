/// What guesses a request's next tokens for speculative decoding to verify.
public protocol SpeculativeProposer: Sendable {
    /// Up to `limit` tokens guessed to follow `tokens` (a request's prompt and output).
    func propose(_ tokens: ArraySlice<Int>, limit: Int) -> [Int]
}

/// Prompt-lookup speculation (vLLM's `NgramProposer`): when the last n tokens of a sequence
/// occurred before, the tokens that followed them then are a cheap guess at what follows now.
/// Inputs that the output copies from (summaries, edits, code) make good guesses.
public struct NgramProposer: SpeculativeProposer {
    public let minN: Int
    public let maxN: Int

    public init(minN: Int, maxN: Int) {
        precondition(1 <= minN && minN <= maxN)
        self.minN = minN
        self.maxN = maxN
    }

    /// Up to `limit` tokens that followed the most recent earlier occurrence of the longest
    /// suffix of `tokens` of `minN ... maxN` tokens; empty when none occurred.
    public func propose(_ tokens: ArraySlice<Int>, limit: Int) -> [Int] {
        guard limit > 0 else { return [] }
        let end = tokens.endIndex
        for n in stride(from: min(maxN, tokens.count - 1), through: minN, by: -1) {
            let suffix = tokens[(end - n)...]
            // Occurrences ending before the last token, the most recent first.
            var start = end - n - 1
            while start >= tokens.startIndex {
                if tokens[start] == suffix.first!, tokens[start ..< start + n].elementsEqual(suffix) {
                    let from = start + n
                    return Array(tokens[from ..< min(from + limit, end)])
                }
                start -= 1
            }
        }
        return []
    }
}
