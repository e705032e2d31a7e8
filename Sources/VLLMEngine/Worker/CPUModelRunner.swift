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
    private let sampler: RequestSampler
    /// The model's last pipeline stage, when it samples there: it gets the sampling state and
    /// each step's rows, and this runner its tokens.
    private let lastStage: (any LastStageSampling)?
    /// Loaded LoRA adapters by engine adapter id (`ScheduledRequest.loraID`).
    private var loras: [Int: LoRAAdapter] = [:]

    public init(model: any CausalLM) {
        self.model = model
        sampler = RequestSampler(vocabSize: model.config.vocabSize)
        lastStage = (model as? any LastStageSampling).flatMap { $0.samplesOnLastStage ? $0 : nil }
    }

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
        var params = params
        // The last stage's copy must draw the same random stream.
        if lastStage != nil && params.seed == nil { params.seed = .random(in: .min ... .max) }
        sampler.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID, promptEmbeddings: promptEmbeddings)
        lastStage?.addSamplingRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID)
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
                          needsAllLogits: $0.numSpecTokens > 0 || sampler.needsPromptLogits($0.requestID),
                          lora: $0.loraID.map { id in
                              guard let a = loras[id] else { preconditionFailure("LoRA adapter \(id) is not loaded") }
                              return a
                          },
                          promptEmbeddings: sampler.states[$0.requestID]?.promptEmbeddings, sequenceID: $0.requestID)
        }
        stepsStarted += 1
        var logits: Logits?
        if let lastStage {
            lastStage.startForward(inputs, kv: kvCache, sampling: Self.samplingStep(output, inputs))
        } else if let pipelined = model as? any PipelinedCausalLM {
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
                sampler.remove(first.ids)
                pendingRemovals.removeFirst()
            }
        }
        if let early = step.early { return early }
        if let lastStage {
            let sampled = lastStage.finishSampled()
            sampler.record(sampled)
            return ModelRunnerOutput(sampled: sampled)
        }
        let logits = step.logits ?? (model as! any PipelinedCausalLM).finishForward()
        return ModelRunnerOutput(sampled: sampler.sample(Self.samplingStep(step.output, step.inputs), logits: logits))
    }

    private static func samplingStep(_ output: SchedulerOutput, _ inputs: [SequenceInput]) -> SamplingStep {
        SamplingStep(rows: zip(output.scheduled, inputs).map { SamplingRow($0, $1) },
                     grammarBitmasks: output.grammarBitmasks.mapValues(\.words))
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
        guard let token = sampler.states[req.requestID]?.lastSampled else { preconditionFailure("no sampled token for \(req.requestID)'s placeholder") }
        return req.tokenIDs.dropLast() + [token]
    }

    /// With steps in flight (a pipeline), their requests' state stays until they are sampled.
    public func removeRequests(_ ids: [String]) {
        // The last stage takes steps in order: its copy can go once the steps before are sent.
        lastStage?.removeSamplingRequests(ids)
        if stepsStarted > stepsFinished { pendingRemovals.append((stepsStarted, ids)) } else { sampler.remove(ids) }
    }
}
