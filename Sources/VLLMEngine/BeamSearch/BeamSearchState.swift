/// One beam: the tokens it generated and their summed raw logprob.
struct Beam: Sendable {
    var tokens: [Int] = []
    var cumulativeLogprob = 0.0
    /// Per generated token, when logprobs were asked for: the token, then the top alternatives.
    var logprobs: [StepLogprobs] = []
    /// "stop" (EOS or a stop token id) or "length"; nil while the beam can grow.
    var finishReason: String?
}

/// How a beam search chooses and stops. Two flavours share the step logic:
/// - vLLM 0.11's `LLM.beam_search` (`earlyStopping == nil`): each live beam offers its own top
///   `2 × width` continuations; every one ending in EOS is kept as complete, the best `width`
///   others live on; the search runs until `maxTokens` or no live beam, then the live beams
///   join the complete ones and the best `width` by score are returned.
/// - vLLM V0's `use_beam_search` (`earlyStopping` set): the group's top `2 × width`
///   continuations by cumulative logprob; complete ones (EOS, a stop token id, or
///   `maxTokens`) join a pool trimmed to the best `width` by score; the search stops when the
///   pool is full and `earlyStopping` says no live beam can still enter it.
struct BeamSearchPolicy: Sendable {
    var width: Int
    var maxTokens: Int
    /// Ends a beam; nil when EOS is ignored.
    var eosTokenID: Int?
    var stopTokenIDs: Set<Int> = []
    var lengthPenalty: Float = 1
    var earlyStopping: EarlyStopping?
    var promptLength: Int
    /// For `EarlyStopping.never`: the longest a sequence may become (vLLM V0 takes the larger
    /// of prompt + max_tokens and max_model_len).
    var maxModelLen: Int
    /// Alternatives kept per step in each beam's reported logprobs (nil: none reported).
    var logprobs: Int?

    /// Continuations asked of the model for each live beam.
    var candidatesPerBeam: Int { max(2 * width, logprobs ?? 0) }

    func score(_ beam: Beam, length: Int? = nil) -> Double {
        let endsWithEOS = beam.finishReason == "stop" && beam.tokens.last == eosTokenID
        return beamSearchScore(length: length ?? promptLength + beam.tokens.count, endsWithEOS: endsWithEOS,
                               cumulativeLogprob: beam.cumulativeLogprob, lengthPenalty: lengthPenalty)
    }
}

/// The beams of one prompt between model steps. Pure logic: the engine (or a test with fixed
/// logits) gives each live beam's top continuations, `advance` picks the next live beams.
struct BeamSearchState: Sendable {
    let policy: BeamSearchPolicy
    private(set) var live: [Beam] = [Beam()]
    private(set) var complete: [Beam] = []
    private(set) var isDone = false

    init(policy: BeamSearchPolicy) { self.policy = policy }

    /// `top[i]`: live beam i's continuations, most likely first, with raw logprobs. Returns the
    /// new live beams, each with the index of the live beam it extends.
    mutating func advance(top: [[(tokenID: Int, logprob: Double)]]) -> [(parent: Int, beam: Beam)] {
        precondition(top.count == live.count && !isDone, "one candidate list per live beam")
        let p = policy
        var candidates: [(parent: Int, beam: Beam)] = []
        for (i, beam) in live.enumerated() {
            let alternatives = p.logprobs.map { k in top[i].prefix(k).map { ($0.tokenID, $0.logprob) } } ?? []
            for (token, lp) in top[i].prefix(p.earlyStopping == nil ? 2 * p.width : top[i].count) {
                var b = beam
                b.tokens.append(token)
                b.cumulativeLogprob += lp
                if p.logprobs != nil { b.logprobs.append([(token, lp)] + alternatives) }
                if token == p.eosTokenID || p.stopTokenIDs.contains(token) {
                    b.finishReason = "stop"
                } else if b.tokens.count >= p.maxTokens {
                    b.finishReason = "length"
                }
                candidates.append((i, b))
            }
        }
        // Same-length candidates: ordering by score is ordering by cumulative logprob.
        candidates.sort { $0.beam.cumulativeLogprob > $1.beam.cumulativeLogprob }
        if p.earlyStopping == nil {
            complete += candidates.filter { $0.beam.finishReason == "stop" }.map(\.beam)
            let next = Array(candidates.filter { $0.beam.finishReason != "stop" }.prefix(p.width))
            live = next.map(\.beam)
            if live.isEmpty || live[0].tokens.count >= p.maxTokens { finish() }
            return isDone ? [] : next
        }
        candidates = Array(candidates.prefix(2 * p.width))
        complete += candidates.filter { $0.beam.finishReason != nil }.map(\.beam)
        complete = Array(sortedByScore(complete).prefix(p.width))
        let next = Array(candidates.filter { $0.beam.finishReason == nil }.prefix(p.width))
        live = next.map(\.beam)
        if live.isEmpty || shouldStopEarly() { isDone = true; live = [] }
        return isDone ? [] : next
    }

    /// The best `width` sequences by score, best first (only once done).
    var best: [Beam] { sortedByScore(complete).prefix(policy.width).map { $0 } }

    private mutating func finish() {
        for i in live.indices where live[i].finishReason == nil { live[i].finishReason = "length" }
        complete += live
        live = []
        isDone = true
    }

    private func sortedByScore(_ beams: [Beam]) -> [Beam] {
        beams.map { ($0, policy.score($0)) }.enumerated()
            .sorted { ($0.element.1, -$0.offset) > ($1.element.1, -$1.offset) }.map(\.element.0)
    }

    /// vLLM V0's test: can the best live beam still beat the worst of a full complete pool?
    private func shouldStopEarly() -> Bool {
        guard let mode = policy.earlyStopping, complete.count >= policy.width, let bestLive = live.first else { return false }
        let worst = policy.score(sortedByScore(complete)[policy.width - 1])
        let attainable: Double
        switch mode {
        case .whenComplete: return true
        case .heuristic: attainable = policy.score(bestLive)
        case .never:
            let longest = max(policy.promptLength + policy.maxTokens, policy.maxModelLen)
            attainable = policy.lengthPenalty > 0 ? policy.score(bestLive, length: longest) : policy.score(bestLive)
        }
        return worst >= attainable
    }
}
