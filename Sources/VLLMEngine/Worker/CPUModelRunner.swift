import VLLMCompute
import VLLMModels

/// The token a step sampled for one request, with its logprobs when they were asked for.
public struct SampledToken: Sendable {
    public let tokenID: Int
    /// The chosen token's raw logprob (always computed: it gives the cumulative logprob that
    /// `best_of` ranks by).
    public let logprob: Double
    public let logprobs: StepLogprobs?
    /// With `logprobs`: the chosen token's rank among all tokens (see `Sampler.rank`).
    public var rank: Int? = nil
    /// With the request's first sampled token, when it asked for prompt logprobs: one entry per
    /// prompt position after the first (the prompt token, then the top alternatives).
    public var promptLogprobs: [StepLogprobs]?
    /// With `promptLogprobs`: each prompt token's rank (see `Sampler.rank`).
    public var promptLogprobRanks: [Int]?
}

/// What a step produced (vLLM's `ModelRunnerOutput`).
public struct ModelRunnerOutput: Sendable {
    /// Per request: its sampled token, or with proposed tokens, the accepted ones and one more.
    public var sampled: [String: [SampledToken]] = [:]
    /// Pool blocks whose KV failed to load from the offloading tier. When any did, the step ran
    /// nothing else (`Scheduler.recoverFromFailedLoads` reschedules its requests).
    public var invalidBlockIDs: Set<Int> = []

    public init(sampled: [String: [SampledToken]] = [:], invalidBlockIDs: Set<Int> = []) {
        self.sampled = sampled
        self.invalidBlockIDs = invalidBlockIDs
    }
}

/// Turns a scheduler step into one flat forward batch, runs the model over the paged KV cache
/// and samples the next token of every request whose chunk reached its last known token.
/// Holds per-request sampling state (parameters, random stream) across steps.
public final class CPUModelRunner: ModelRunner, @unchecked Sendable {
    public let model: any CausalLM
    /// Set once by `initializeKVCache`, before the first step.
    public private(set) var kvCache: PagedKVCache!
    /// Moves KV to and from the offloading tier; nil without one.
    private var offloadCopier: KVOffloadCopier?
    private var states: [String: RequestState] = [:]
    /// Loaded LoRA adapters by engine adapter id (`ScheduledRequest.loraID`).
    private var loras: [Int: LoRAAdapter] = [:]

    private let workspace = SamplerWorkspace()

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

    public init(model: any CausalLM) { self.model = model }

    public func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                                  offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock] {
        precondition(kvCache == nil, "the KV cache is allocated once")
        kvCache = PagedKVCache(config: model.config, layout: model.kvCacheLayout(layout), numBlocks: numBlocks, blockSize: blockSize, dtype: dtype)
        let store: any KVOffloadStore
        switch offloading?.backend {
        case nil: return []
        case .memory:
            store = HostKVOffloadStore(numSlots: offloading!.numBlocks, blockBytes: kvCache.packedBlockBytes)
        case let .disk(directory, identity):
            store = try DiskKVOffloadStore(directory: directory, identity: identity, numSlots: offloading!.numBlocks,
                                           blockBytes: kvCache.packedBlockBytes)
        }
        offloadCopier = KVOffloadCopier(store)
        return store.restored
    }

    /// Registers a request's sampling state before it is first scheduled.
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?) {
        for i in pendingRemovals.indices { pendingRemovals[i].ids.removeAll { $0 == id } }
        states[id] = RequestState(params: params, rng: SplitMix64(seed: params.seed ?? .random(in: .min ... .max)),
                                  history: SamplingHistory(promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID,
                                                           params: params),
                                  prompt: params.promptLogprobs == nil ? nil : promptTokenIDs,
                                  promptLogprobs: Array(repeating: nil, count: max(0, promptTokenIDs.count - 1)),
                                  promptLogprobRanks: Array(repeating: 0, count: max(0, promptTokenIDs.count - 1)),
                                  promptEmbeddings: promptEmbeddings)
    }

    /// Makes adapter `id` available to scheduled requests (vLLM's `add_lora`).
    public func addLoRA(id: Int, adapter: LoRAAdapter) { loras[id] = adapter }

    /// Forgets adapter `id`; the engine only removes adapters no request uses.
    public func removeLoRA(id: Int) { loras[id] = nil }
    public func releaseKVCacheMemory() { kvCache?.releaseMemory() }

    /// A step whose forward has started: what `finish` needs to sample it.
    private struct StartedStep {
        let output: SchedulerOutput
        let inputs: [SequenceInput]
        /// The logits when the forward ran whole; nil: they come from `PipelinedCausalLM.finishForward`.
        let logits: Logits?
        /// The result when the step ends here (nothing scheduled, or a failed offloading load).
        let early: ModelRunnerOutput?
    }

    /// Steps started and finished so far; a removal waits for the steps started before it
    /// (`removeRequests`).
    private var stepsStarted = 0, stepsFinished = 0
    private var pendingRemovals: [(afterStep: Int, ids: [String])] = []

    public func execute(_ output: SchedulerOutput) -> ModelRunnerOutput { finish(start(output)) }

    public func submit(_ output: SchedulerOutput) -> PendingStep {
        let step = start(output)
        return PendingStep { self.finish(step) }
    }

    /// Prepares `output`'s batch and runs the model on it: whole, or with a pipelined model this
    /// process's stage (`finish` collects the logits).
    private func start(_ output: SchedulerOutput) -> StartedStep {
        // State leaves through `removeRequests` when a request finishes (the engine core calls
        // it at once, so an id may be reused right away); preempted requests keep their random
        // stream so a recomputed request continues the same sample path.
        precondition(offloadCopier != nil || (output.offloadStores.isEmpty && output.offloadLoads.isEmpty),
                     "offloading transfers without an offloading tier")
        if let offloadCopier {
            if !output.offloadLoads.isEmpty {
                let failed = offloadCopier.load(output.offloadLoads, into: kvCache)
                // Requests of this step may read blocks others write in it: none of them runs,
                // and the blocks it would have filled are not stored.
                if !failed.isEmpty { return started(output, early: ModelRunnerOutput(invalidBlockIDs: failed)) }
            }
            offloadCopier.waitForStores(reading: blocksWritten(by: output))
        }
        for copy in output.blockCopies { kvCache.copyBlock(from: copy.src, to: copy.dst) }
        guard !output.scheduled.isEmpty else {
            // Nothing to overlap (a flush before the engine stops, or an idle step).
            offloadCopier?.store(output.offloadStores, from: kvCache)
            offloadCopier?.waitForStores()
            return started(output, early: ModelRunnerOutput())
        }
        let inputs = output.scheduled.map {
            SequenceInput(tokens: withSampledToken($0), firstPosition: $0.startPosition,
                          blockTables: $0.blockTables.map { $0.map(Int32.init) }, needsLogits: $0.samplesAfterStep,
                          needsAllLogits: $0.numSpecTokens > 0 || states[$0.requestID]?.prompt.map { $0.count > 1 } ?? false,
                          lora: $0.loraID.map { id in
                              guard let a = loras[id] else { preconditionFailure("LoRA adapter \(id) is not loaded") }
                              return a
                          },
                          promptEmbeddings: states[$0.requestID]?.promptEmbeddings, sequenceID: $0.requestID)
        }
        stepsStarted += 1
        var logits: Logits?
        if let pipelined = model as? any PipelinedCausalLM {
            pipelined.startForward(inputs, kv: kvCache)
        } else {
            logits = model.forward(inputs, kv: kvCache)
        }
        // This process's KV of the step is written: the stores go now, before a later step in
        // flight loads a slot they fill.
        offloadCopier?.store(output.offloadStores, from: kvCache)
        return StartedStep(output: output, inputs: inputs, logits: logits, early: nil)
    }

    private func started(_ output: SchedulerOutput, early: ModelRunnerOutput) -> StartedStep {
        stepsStarted += 1
        return StartedStep(output: output, inputs: [], logits: nil, early: early)
    }

    /// Samples a started step (steps finish in the order they started).
    private func finish(_ step: StartedStep) -> ModelRunnerOutput {
        defer {
            stepsFinished += 1
            while let first = pendingRemovals.first, first.afterStep <= stepsFinished {
                for id in first.ids { states[id] = nil }
                pendingRemovals.removeFirst()
            }
        }
        if let early = step.early { return early }
        let output = step.output, inputs = step.inputs
        let logits = step.logits ?? (model as! any PipelinedCausalLM).finishForward()
        var sampled: [String: [SampledToken]] = [:]
        var next = 0
        for (req, input) in zip(output.scheduled, inputs) where input.needsLogits {
            guard var state = states[req.requestID] else { preconditionFailure("no sampling state for \(req.requestID)") }
            if input.needsAllLogits { recordPromptLogprobs(&state, req, logits, firstRow: next) }
            next += input.needsAllLogits ? req.numTokens : 1
            guard req.samplesAfterStep else { states[req.requestID] = state; continue }
            // The last 1 + numSpecTokens rows each give the token after their position. Every
            // one is sampled as without proposals (same distribution, history and random
            // stream), and a proposal is accepted while it equals the token sampled before it,
            // so the output is what the request would give without speculation.
            let firstProposal = req.numTokens - req.numSpecTokens
            var tokens: [SampledToken] = []
            for row in (next - 1 - req.numSpecTokens) ..< next {
                // A constrained request samples from, and reports logprobs of, the allowed
                // tokens only (vLLM applies the grammar bitmask to the logits before the sampler).
                let sampled = if let mask = output.grammarBitmasks[req.requestID] {
                    Sampler.masked(logits[row], by: mask).withUnsafeBufferPointer { sample($0, &state) }
                } else {
                    sample(logits[row], &state)
                }
                tokens.append(sampled)
                let token = sampled.tokenID
                let proposal = firstProposal + tokens.count - 1
                if proposal == req.numTokens || req.tokenIDs[proposal] != token { break }
            }
            if state.prompt != nil {
                // Reported once, with the first token; later recomputes need no prompt rows.
                tokens[0].promptLogprobs = state.promptLogprobs.map { $0 ?? [] }
                tokens[0].promptLogprobRanks = state.promptLogprobRanks
                state.promptLogprobRanks = []
                state.prompt = nil
                state.promptLogprobs = []
            }
            states[req.requestID] = state
            sampled[req.requestID] = tokens
        }
        return ModelRunnerOutput(sampled: sampled)
    }

    /// The pool blocks the step writes: copy-on-write targets and the blocks of the scheduled
    /// tokens' positions.
    private func blocksWritten(by output: SchedulerOutput) -> [Int] {
        let size = kvCache.blockSize
        return output.blockCopies.map(\.dst) + output.scheduled.filter { $0.numTokens > 0 }.flatMap { s in
            s.blockTables.flatMap { table in
                table[(s.startPosition / size) ... ((s.startPosition + s.numTokens - 1) / size)]
            }
        }
    }

    /// The chunk's tokens with a placeholder (async scheduling: scheduled before the token was
    /// known) replaced by the token the request sampled last.
    private func withSampledToken(_ req: ScheduledRequest) -> [Int] {
        guard req.tokenIDs.last == ScheduledRequest.placeholderTokenID else { return req.tokenIDs }
        guard let token = states[req.requestID]?.lastSampled else { preconditionFailure("no sampled token for \(req.requestID)'s placeholder") }
        return req.tokenIDs.dropLast() + [token]
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
    private func recordPromptLogprobs(_ state: inout RequestState, _ req: ScheduledRequest, _ logits: Logits, firstRow: Int) {
        guard let prompt = state.prompt, let k = state.params.promptLogprobs else { return }
        for j in 0..<req.numTokens {
            let target = req.startPosition + j + 1
            guard target < prompt.count else { break }
            let row = logits[firstRow + j]
            state.promptLogprobs[target - 1] = Sampler.logprobs(logits: row, chosen: prompt[target], k: k)
            state.promptLogprobRanks[target - 1] = Sampler.rank(logits: row, of: prompt[target])
        }
    }

    /// With steps in flight (a pipeline), their requests' state stays until they are sampled.
    public func removeRequests(_ ids: [String]) {
        if stepsStarted > stepsFinished { pendingRemovals.append((stepsStarted, ids)) } else { for id in ids { states[id] = nil } }
    }
}
