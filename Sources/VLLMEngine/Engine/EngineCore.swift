import VLLMCompute
import VLLMStructuredOutput

/// What one step did to one request, as the engine core reports it.
public struct EngineCoreOutput: Sendable {
    public let requestID: String
    public let newTokenIDs: [Int]
    /// One entry per new token, when the request asked for logprobs.
    public let newLogprobs: [StepLogprobs]?
    /// With `newLogprobs`: each new token's rank among all tokens.
    public var newLogprobRanks: [Int]? = nil
    /// The raw logprob of each new token.
    public let newTokenLogprobs: [Double]
    /// With the first token of a request that asked for them: prompt logprobs for each prompt
    /// position after the first.
    public var promptLogprobs: [StepLogprobs]?
    /// With `promptLogprobs`: each prompt token's rank among all tokens.
    public var promptLogprobRanks: [Int]? = nil
    /// "stop", "length" or "abort" once finished.
    public let finishReason: String?
    /// With a request's first token: how many prompt tokens the prefix cache (or the KV
    /// offloading tier) supplied when it was first scheduled.
    public var numCachedTokens: Int? = nil
}

/// The engine's single owner of scheduling state: every step it schedules, executes and
/// applies the sampled tokens (vLLM's `EngineCore`). Not thread-safe: one loop drives it.
public final class EngineCore: @unchecked Sendable {
    public let scheduler: Scheduler
    public let executor: any Executor
    /// The requests the last step scheduled, and its token count (for metrics).
    public private(set) var lastScheduledIDs: [String] = []
    public private(set) var lastStepTokens = 0
    /// The last step's tokens as vLLM's `vllm:iteration_tokens` counts them: each new token,
    /// plus the whole prompt of each request that got its first token.
    public private(set) var lastStepIterationTokens = 0
    /// Grammar state of constrained requests; nil when the engine has no tokenizer to build
    /// token masks from.
    let structuredOutputs: StructuredOutputManager?

    /// Speculative decoding's settings and proposer; nil without it.
    let speculativeConfig: SpeculativeConfig?
    var proposer: (any SpeculativeProposer)?

    /// With async scheduling: the worker queue, and the step running on it.
    private let asyncExecutor: AsyncExecutor?
    private var inFlight: (output: SchedulerOutput, step: PendingStep)?
    /// With an executor that runs several steps at once (pipeline stages): the steps in
    /// flight, oldest first (vLLM's batch queue).
    private var batchQueue: [(output: SchedulerOutput, step: PendingStep)] = []

    /// `asyncScheduling`: each step is scheduled while the previous one computes (vLLM's
    /// `--async-scheduling`); see `step()`.
    /// `speculativeConfig`: proposed tokens are verified each step (proposals need the real
    /// tokens, so steps are then scheduled one after the other even with `asyncScheduling`).
    public convenience init(scheduler: Scheduler, executor: any Executor, asyncScheduling: Bool = false,
                            speculativeConfig: SpeculativeConfig? = nil) {
        self.init(scheduler: scheduler, executor: executor, structuredOutputs: nil, asyncScheduling: asyncScheduling,
                  speculativeConfig: speculativeConfig)
    }

    /// `proposer`: what proposes tokens (default: n-gram lookup for an n-gram config).
    init(scheduler: Scheduler, executor: any Executor, structuredOutputs: StructuredOutputManager?, asyncScheduling: Bool = false,
         speculativeConfig: SpeculativeConfig? = nil, proposer: (any SpeculativeProposer)? = nil) {
        self.scheduler = scheduler
        asyncExecutor = asyncScheduling && speculativeConfig == nil ? AsyncExecutor(executor) : nil
        self.executor = asyncExecutor ?? executor
        precondition(executor.maxConcurrentBatches == 1 || (asyncExecutor == nil && speculativeConfig == nil),
                     "a pipelined executor runs without async scheduling or speculative decoding")
        scheduler.pipelineDepth = executor.maxConcurrentBatches
        self.structuredOutputs = structuredOutputs
        self.speculativeConfig = speculativeConfig
        if let proposer {
            self.proposer = proposer
        } else if case let .ngram(lo, hi) = speculativeConfig?.method {
            self.proposer = NgramProposer(minN: lo, maxN: hi)
        }
        precondition((speculativeConfig == nil) == (self.proposer == nil), "speculative decoding needs a proposer")
    }

    /// Queues a request, constrained by `grammar` when given, as a parallel-sampling sibling of
    /// `siblingOf` when given (`Scheduler.addSibling`); throws (before anything changes) when it
    /// can never run.
    public func addRequest(_ request: Request, grammar: CompiledGrammar? = nil, siblingOf leaderID: String? = nil) throws {
        if grammar != nil && structuredOutputs == nil {
            throw EngineArgsError.invalid("structured outputs need an engine built with a tokenizer")
        }
        if let leaderID { try scheduler.addSibling(request, of: leaderID) } else { try scheduler.add(request) }
        executor.addRequest(id: request.requestID, params: request.samplingParams,
                             promptTokenIDs: request.promptTokenIDs, eosTokenID: request.eosTokenID,
                             promptEmbeddings: request.promptEmbeddings)
        if let grammar { structuredOutputs?.add(request.requestID, grammar: grammar, promptTokenIDs: request.promptTokenIDs) }
    }

    /// Queues `child` on the blocks of the finished request `parentID` (see `Scheduler.fork`).
    public func forkRequest(_ child: Request, from parentID: String) throws {
        try scheduler.fork(child, from: parentID)
        executor.addRequest(id: child.requestID, params: child.samplingParams,
                             promptTokenIDs: child.promptTokenIDs, eosTokenID: child.eosTokenID,
                             promptEmbeddings: child.promptEmbeddings)
    }

    /// Frees blocks that finished requests kept for forking.
    public func releaseBlocks(of ids: [String]) { scheduler.release(ids) }

    /// Aborted requests leave the batch and free their blocks at once.
    public func abortRequests(_ ids: [String]) {
        scheduler.abort(ids)
        executor.removeRequests(ids)
        structuredOutputs?.remove(ids)
    }

    public var hasUnfinishedRequests: Bool { scheduler.hasUnfinishedRequests || hasStepInFlight }

    /// A step is computing (async scheduling, a pipeline); a later `step()` collects it.
    public var hasStepInFlight: Bool { inFlight != nil || !batchQueue.isEmpty }

    // The step still computing uses the model, which another engine may share.
    deinit {
        _ = inFlight?.step.wait()
        for s in batchQueue { _ = s.step.wait() }
    }

    /// Copies the prefix cache's blocks into the offloading tier (before a persistent tier's
    /// engine stops, so a restart finds them); between steps only.
    public func offloadPrefixCache() {
        guard let tier = scheduler.kvCacheManager.offloading else { return }
        scheduler.kvCacheManager.pool.offloadCachedBlocks()
        var flush = SchedulerOutput()
        (flush.offloadStores, flush.offloadLoads) = tier.takeTransfers()
        guard !flush.offloadStores.isEmpty else { return }
        _ = executor.executeModel(flush)
    }

    /// One iteration: schedule → execute → update. Returns the requests that changed.
    ///
    /// With async scheduling the step after the one computing is scheduled and queued behind it
    /// at once (a request whose token is still being sampled gets a placeholder, which the
    /// worker replaces with that token), so the worker goes from one step to the next without
    /// waiting; then the computing step's tokens are applied and the caller's output processing
    /// overlaps the queued step. What sampling reads (penalties, bad words, min_tokens, seeds) is
    /// the worker's real history. A request that finished or was aborted meanwhile computes one
    /// token in the queued step that is dropped; one whose token in flight is certainly its last
    /// gets no further step. The queued step waits for the computing one's result first when a
    /// grammar mask needs the token in flight (the stale requests then leave it) or when the
    /// computing step loads blocks from the offloading tier (a failed load reschedules).
    public func step() -> [EngineCoreOutput] {
        if executor.maxConcurrentBatches > 1 { return stepWithBatchQueue() }
        guard let asyncExecutor else {
            let output = schedule()
            return apply(output, executor.executeModel(withMasks(output)))
        }
        guard let (current, pending) = inFlight else {
            start(schedule(), on: asyncExecutor)
            return []
        }
        var next = current.offloadLoads.isEmpty ? schedule() : nil
        if let n = next, !needsTokenInFlight(n) {
            start(n, on: asyncExecutor)
            return apply(current, pending.wait())
        }
        let outputs = apply(current, pending.wait())
        if next != nil { scheduler.dropStale(from: &next!) }
        start(next ?? schedule(), on: asyncExecutor)
        return outputs
    }

    /// A step of a pipeline: while fewer steps than its stages are in flight, another is
    /// scheduled (from the requests not waiting for a token in flight) and started; the oldest
    /// step is collected when the queue is full or nothing more could be scheduled.
    private func stepWithBatchQueue() -> [EngineCoreOutput] {
        var started = false
        if batchQueue.count < executor.maxConcurrentBatches {
            let output = schedule()
            if hasWork(output) {
                batchQueue.append((output, executor.submitModel(withMasks(output))))
                started = true
            }
        }
        if batchQueue.isEmpty || (started && batchQueue.count < executor.maxConcurrentBatches) { return [] }
        let (output, step) = batchQueue.removeFirst()
        return apply(output, step.wait())
    }

    /// Whether a constrained request of `output` samples after a token still in flight.
    private func needsTokenInFlight(_ output: SchedulerOutput) -> Bool {
        guard let so = structuredOutputs, so.count > 0 else { return false }
        return output.scheduled.contains {
            $0.samplesAfterStep && $0.tokenIDs.last == ScheduledRequest.placeholderTokenID && so.isConstrained($0.requestID)
        }
    }

    private func schedule() -> SchedulerOutput {
        let output = scheduler.schedule()
        lastScheduledIDs = output.scheduled.map(\.requestID)
        lastStepTokens = output.totalNumScheduledTokens
        return output
    }

    private func withMasks(_ output: SchedulerOutput) -> SchedulerOutput {
        guard let so = structuredOutputs else { return output }
        var out = output
        out.grammarBitmasks = so.bitmasks(for: output)
        return out
    }

    private func start(_ output: SchedulerOutput, on asyncExecutor: AsyncExecutor) {
        inFlight = hasWork(output) ? (output, asyncExecutor.submit(withMasks(output))) : nil
    }

    private func hasWork(_ output: SchedulerOutput) -> Bool {
        !output.scheduled.isEmpty || !output.offloadStores.isEmpty || !output.offloadLoads.isEmpty || !output.blockCopies.isEmpty
    }

    /// Applies a step's result to the scheduler and reports what changed.
    private func apply(_ output: SchedulerOutput, _ result: ModelRunnerOutput) -> [EngineCoreOutput] {
        if !result.invalidBlockIDs.isEmpty {
            logInfo("warning: \(result.invalidBlockIDs.count) KV blocks failed their check when loaded from the offloading tier; their requests are recomputed")
            scheduler.recoverFromFailedLoads(output, invalidBlockIDs: result.invalidBlockIDs)
        }
        let sampled = result.sampled
        var firstTokenPrompts: [String: (tokens: Int, cached: Int)] = [:]
        for s in output.scheduled where s.samplesAfterStep {
            if let r = scheduler.request(s.requestID), r.numOutputTokens == 0 {
                firstTokenPrompts[s.requestID] = (r.numPromptTokens, r.numCachedTokens)
            }
        }
        let updates = scheduler.update(output: output, sampled: sampled.mapValues { $0.map(\.tokenID) })
        lastStepIterationTokens = updates.reduce(0) { total, u in
            total + u.newTokenIDs.count + (u.newTokenIDs.isEmpty ? 0 : firstTokenPrompts[u.requestID]?.tokens ?? 0)
        }
        structuredOutputs?.accept(updates)
        let finished = updates.filter(\.isFinished).map(\.requestID)
        if !finished.isEmpty { executor.removeRequests(finished) }
        if let proposer, let config = speculativeConfig { propose(with: proposer, config: config) }
        return updates.map { u in
            // The tokens the scheduler took (a finish inside an accepted run drops the rest).
            let s = sampled[u.requestID]?.prefix(u.newTokenIDs.count) ?? []
            let lp = s.compactMap(\.logprobs)
            return EngineCoreOutput(requestID: u.requestID, newTokenIDs: u.newTokenIDs,
                                    newLogprobs: lp.isEmpty ? nil : lp, newLogprobRanks: lp.isEmpty ? nil : s.compactMap(\.rank),
                                    newTokenLogprobs: s.map(\.logprob),
                                    promptLogprobs: s.first?.promptLogprobs, promptLogprobRanks: s.first?.promptLogprobRanks,
                                    finishReason: u.finishReason,
                                    numCachedTokens: u.newTokenIDs.isEmpty ? nil : firstTokenPrompts[u.requestID]?.cached)
        }
    }

    /// Proposes the next tokens of every running request whose next step samples, for that
    /// step to verify; none for constrained requests (proposals would have to pass the
    /// grammar), prompts given as embeddings (a draft model can't read them) or while more
    /// requests run than `disableByBatchSize` allows; fewer per request in larger batches
    /// (`proposalsPerRequest`).
    private func propose(with proposer: any SpeculativeProposer, config: SpeculativeConfig) {
        let running = scheduler.running
        let k = config.proposalsPerRequest(running: running.count)
        let eligible = k == 0 ? [] : running.filter { r in
            r.numComputedTokens == r.numTokens - 1 && r.numOutputPlaceholders == 0 && r.promptEmbeddings == nil
                && !(structuredOutputs?.isConstrained(r.requestID) ?? false)
        }
        let proposals = proposer.propose(eligible.map { ProposalRequest(id: $0.requestID, tokens: $0.allTokenIDs[...]) }, limit: k)
        for r in running { r.specTokenIDs = proposals[r.requestID] ?? [] }
    }
}
