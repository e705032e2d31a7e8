import VLLMCompute
import VLLMModels
import VLLMStructuredOutput

/// One request's part of a step as the sampler sees it (from its `ScheduledRequest` and
/// `SequenceInput`): which logits rows are its, and whether it samples after the step.
public struct SamplingRow: Sendable, Codable, Equatable {
    public var requestID: String
    public var startPosition: Int
    public var numTokens: Int
    public var needsLogits: Bool
    public var needsAllLogits: Bool
    public var samplesAfterStep: Bool
    /// The proposed tokens (speculative decoding) at the chunk's end.
    public var proposals: [Int]

    init(_ req: ScheduledRequest, _ input: SequenceInput) {
        requestID = req.requestID
        startPosition = req.startPosition
        numTokens = req.numTokens
        needsLogits = input.needsLogits
        needsAllLogits = input.needsAllLogits
        samplesAfterStep = req.samplesAfterStep
        proposals = Array(req.tokenIDs.suffix(req.numSpecTokens))
    }
}

/// A step's sampling work: its rows, in batch order, and the grammar bitmasks of its
/// constrained requests.
public struct SamplingStep: Sendable, Codable, Equatable {
    public var rows: [SamplingRow]
    /// By request id: the allowed-token words (`TokenBitmask.words`).
    public var grammarBitmasks: [String: [UInt32]]
}

/// The sampling half of a model runner (vLLM's sampler with the input batch's sampling state):
/// each request's parameters, random stream, token history and prompt logprobs so far, and the
/// sampling of a step's logits rows. Rank 0's runner holds it; with pipeline parallelism the
/// last stage holds a copy fed the same requests and steps, samples there, and sends rank 0 the
/// tokens (vLLM samples on the last pipeline stage).
public final class RequestSampler: @unchecked Sendable {
    struct RequestState {
        let params: SamplingParams
        var rng: SplitMix64
        /// Prompt and sampled tokens, for penalties and min_tokens.
        var history: SamplingHistory
        /// Kept only for prompt logprobs, until they are reported.
        var prompt: [Int]?
        /// Prompt logprobs by position - 1, filled chunk by chunk (again after a preemption).
        var promptLogprobs: [StepLogprobs?] = []
        var promptLogprobRanks: [Int] = []
        var promptEmbeddings: PromptEmbeddings?
        /// The token sampled last (what a placeholder in the next chunk stands for).
        var lastSampled: Int?
    }

    var states: [String: RequestState] = [:]
    private let workspace = SamplerWorkspace()
    private let vocabSize: Int

    public init(vocabSize: Int) { self.vocabSize = vocabSize }

    /// Registers a request's sampling state; without a seed in `params` its random stream
    /// starts from a random one.
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings? = nil) {
        states[id] = RequestState(params: params, rng: SplitMix64(seed: params.seed ?? .random(in: .min ... .max)),
                                  history: SamplingHistory(promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID, params: params),
                                  prompt: params.promptLogprobs == nil ? nil : promptTokenIDs,
                                  promptLogprobs: Array(repeating: nil, count: max(0, promptTokenIDs.count - 1)),
                                  promptLogprobRanks: Array(repeating: 0, count: max(0, promptTokenIDs.count - 1)),
                                  promptEmbeddings: promptEmbeddings)
    }

    public func remove(_ ids: [String]) { for id in ids { states[id] = nil } }

    /// Whether the request still needs every prompt row's logits (for its prompt logprobs).
    func needsPromptLogits(_ id: String) -> Bool { states[id]?.prompt.map { $0.count > 1 } ?? false }

    /// Samples `step` from `logits` (the rows its inputs asked for, in order).
    public func sample(_ step: SamplingStep, logits: Logits) -> [String: [SampledToken]] {
        var sampled: [String: [SampledToken]] = [:]
        var next = 0
        for row in step.rows where row.needsLogits {
            guard var state = states[row.requestID] else { preconditionFailure("no sampling state for \(row.requestID)") }
            if row.needsAllLogits { recordPromptLogprobs(&state, row, logits, firstRow: next) }
            next += row.needsAllLogits ? row.numTokens : 1
            guard row.samplesAfterStep else { states[row.requestID] = state; continue }
            // The last 1 + proposals rows each give the token after their position. Every one is
            // sampled as without proposals (same distribution, history and random stream), and a
            // proposal is accepted while it equals the token sampled before it, so the output is
            // what the request would give without speculation.
            var tokens: [SampledToken] = []
            for r in (next - 1 - row.proposals.count) ..< next {
                // A constrained request samples from, and reports logprobs of, the allowed
                // tokens only (vLLM applies the grammar bitmask to the logits before the sampler).
                let token = if let words = step.grammarBitmasks[row.requestID] {
                    Sampler.masked(logits[r], by: bitmask(words)).withUnsafeBufferPointer { sample($0, &state) }
                } else {
                    sample(logits[r], &state)
                }
                tokens.append(token)
                let proposal = tokens.count - 1
                if proposal == row.proposals.count || row.proposals[proposal] != token.tokenID { break }
            }
            if state.prompt != nil {
                // Reported once, with the first token; later recomputes need no prompt rows.
                tokens[0].promptLogprobs = state.promptLogprobs.map { $0 ?? [] }
                tokens[0].promptLogprobRanks = state.promptLogprobRanks
                state.promptLogprobRanks = []
                state.prompt = nil
                state.promptLogprobs = []
            }
            states[row.requestID] = state
            sampled[row.requestID] = tokens
        }
        return sampled
    }

    /// What another copy sampled (the last pipeline stage's): the tokens enter this copy's
    /// history, and a request whose prompt logprobs were reported needs no more prompt rows.
    func record(_ sampled: [String: [SampledToken]]) {
        for (id, tokens) in sampled {
            guard var state = states[id] else { continue }
            for t in tokens { state.history.append(t.tokenID) }
            state.lastSampled = tokens.last?.tokenID
            if tokens.first?.promptLogprobs != nil {
                state.prompt = nil
                state.promptLogprobs = []
                state.promptLogprobRanks = []
            }
            states[id] = state
        }
    }

    private func bitmask(_ words: [UInt32]) -> TokenBitmask {
        var mask = TokenBitmask(vocabSize: vocabSize)
        precondition(words.count == mask.words.count, "a grammar bitmask of another vocabulary")
        mask.words = words
        return mask
    }

    private func sample(_ row: UnsafeBufferPointer<Float>, _ state: inout RequestState) -> SampledToken {
        let token = Sampler.sample(logits: row, params: state.params, history: state.history,
                                   workspace: workspace, using: &state.rng)
        state.history.append(token)
        state.lastSampled = token
        guard let k = state.params.logprobs else {
            return SampledToken(tokenID: token, logprob: Sampler.logprob(logits: row, of: token), logprobs: nil)
        }
        let lp = Sampler.logprobs(logits: row, chosen: token, k: k)
        return SampledToken(tokenID: token, logprob: lp[0].logprob, logprobs: lp, rank: Sampler.rank(logits: row, of: token))
    }

    /// Row j of the chunk predicts the token at position start + j + 1: while that is a prompt
    /// position, its logprob (and the top alternatives) is a prompt logprob.
    private func recordPromptLogprobs(_ state: inout RequestState, _ row: SamplingRow, _ logits: Logits, firstRow: Int) {
        guard let prompt = state.prompt, let k = state.params.promptLogprobs else { return }
        for j in 0..<row.numTokens {
            let target = row.startPosition + j + 1
            guard target < prompt.count else { break }
            let r = logits[firstRow + j]
            state.promptLogprobs[target - 1] = Sampler.logprobs(logits: r, chosen: prompt[target], k: k)
            state.promptLogprobRanks[target - 1] = Sampler.rank(logits: r, of: prompt[target])
        }
    }
}

/// The sampled tokens' form between a pipeline's last stage and rank 0 (logprobs as parallel
/// arrays of token ids and values).
extension SampledToken: Codable {
    private enum CodingKeys: String, CodingKey { case tokenID, logprob, logprobs, rank, promptLogprobs, promptLogprobRanks }
    private struct Step: Codable {
        let ids: [Int]
        let values: [Double]
        init(_ s: StepLogprobs) { (ids, values) = (s.map(\.tokenID), s.map(\.logprob)) }
        var step: StepLogprobs { zip(ids, values).map { (tokenID: $0, logprob: $1) } }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenID = try c.decode(Int.self, forKey: .tokenID)
        logprob = try c.decode(Double.self, forKey: .logprob)
        logprobs = try c.decodeIfPresent(Step.self, forKey: .logprobs)?.step
        rank = try c.decodeIfPresent(Int.self, forKey: .rank)
        promptLogprobs = try c.decodeIfPresent([Step].self, forKey: .promptLogprobs)?.map(\.step)
        promptLogprobRanks = try c.decodeIfPresent([Int].self, forKey: .promptLogprobRanks)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(logprob, forKey: .logprob)
        try c.encodeIfPresent(logprobs.map(Step.init), forKey: .logprobs)
        try c.encodeIfPresent(rank, forKey: .rank)
        try c.encodeIfPresent(promptLogprobs?.map(Step.init), forKey: .promptLogprobs)
        try c.encodeIfPresent(promptLogprobRanks, forKey: .promptLogprobRanks)
    }
}

/// A pipelined model whose last stage samples (vLLM's V1 does so with pipeline parallelism):
/// the runner hands it each request's sampling state and each step's rows, and takes the tokens
/// instead of logits.
public protocol LastStageSampling: PipelinedCausalLM {
    /// Whether the last stage samples (a pipeline of more than one stage).
    var samplesOnLastStage: Bool { get }
    func addSamplingRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?)
    func removeSamplingRequests(_ ids: [String])
    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache, sampling: SamplingStep)
    /// The tokens of the oldest step started and not yet finished (steps finish in order).
    func finishSampled() -> [String: [SampledToken]]
}
