import VLLMCompute
import VLLMModels

/// The token a step sampled for one request, with its logprobs when they were asked for.
public struct SampledToken: Sendable {
    public let tokenID: Int
    /// The chosen token's raw logprob (always computed: it gives the cumulative logprob that
    /// `best_of` ranks by).
    public let logprob: Double
    public let logprobs: StepLogprobs?
}

/// Turns a scheduler step into one flat forward batch, runs the model over the paged KV cache
/// and samples the next token of every request whose chunk reached its last known token.
/// Holds per-request sampling state (parameters, random stream) across steps.
public final class ModelRunner: @unchecked Sendable {
    public let model: LlamaModel
    public let kvCache: PagedKVCache
    private var states: [String: RequestState] = [:]

    private let workspace = SamplerWorkspace()

    struct RequestState {
        let params: SamplingParams
        var rng: SplitMix64
        /// Prompt and sampled tokens, for penalties and min_tokens.
        var history: SamplingHistory
    }

    public init(model: LlamaModel, numBlocks: Int, blockSize: Int) {
        self.model = model
        kvCache = PagedKVCache(config: model.config, numBlocks: numBlocks, blockSize: blockSize)
    }

    /// Registers a request's sampling state before it is first scheduled.
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int] = [], eosTokenID: Int? = nil) {
        states[id] = RequestState(params: params, rng: SplitMix64(seed: params.seed ?? .random(in: .min ... .max)),
                                  history: SamplingHistory(promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID,
                                                           params: params))
    }

    public func execute(_ output: SchedulerOutput) -> [String: SampledToken] {
        // State leaves through `removeRequests` when a request finishes (the engine core calls
        // it at once, so an id may be reused right away); preempted requests keep their random
        // stream so a recomputed request continues the same sample path.
        for copy in output.blockCopies { kvCache.copyBlock(from: copy.src, to: copy.dst) }
        guard !output.scheduled.isEmpty else { return [:] }
        let inputs = output.scheduled.map {
            SequenceInput(tokens: $0.tokenIDs, firstPosition: $0.startPosition,
                          blockTable: $0.blockIDs.map(Int32.init), needsLogits: $0.samplesAfterStep)
        }
        let logits = model.forward(inputs, kv: kvCache)
        var sampled: [String: SampledToken] = [:]
        for (row, req) in output.scheduled.filter(\.samplesAfterStep).enumerated() {
            let rowLogits = logits[row]
            guard var state = states[req.requestID] else { preconditionFailure("no sampling state for \(req.requestID)") }
            let token = Sampler.sample(logits: rowLogits, params: state.params, history: state.history,
                                       workspace: workspace, using: &state.rng)
            state.history.append(token)
            states[req.requestID] = state
            let lp = state.params.logprobs.map { Sampler.logprobs(logits: rowLogits, chosen: token, k: $0) }
            let chosen = lp?[0].logprob ?? Sampler.logprob(logits: rowLogits, of: token)
            sampled[req.requestID] = SampledToken(tokenID: token, logprob: chosen, logprobs: lp)
        }
        return sampled
    }

    public func removeRequests(_ ids: some Sequence<String>) { for id in ids { states[id] = nil } }
}
