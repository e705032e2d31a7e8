/// A request whose next tokens are to be guessed: its prompt and output so far.
public struct ProposalRequest: Sendable {
    public let id: String
    public let tokens: ArraySlice<Int>

    public init(id: String, tokens: ArraySlice<Int>) {
        self.id = id
        self.tokens = tokens
    }
}

/// What guesses requests' next tokens for speculative decoding to verify.
public protocol SpeculativeProposer: Sendable {
    /// Up to `limit` tokens guessed to follow each request's tokens, by request id (none: no
    /// entry). A proposer keeping state per request forgets the requests not passed.
    func propose(_ requests: [ProposalRequest], limit: Int) -> [String: [Int]]
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

    public func propose(_ requests: [ProposalRequest], limit: Int) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for r in requests {
            let p = propose(r.tokens, limit: limit)
            if !p.isEmpty { out[r.id] = p }
        }
        return out
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
