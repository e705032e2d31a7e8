/// vLLM's V1 scheduler: one rule for every request. Each step, a request's computed tokens
/// catch up with its known tokens (prompt plus sampled output) as far as the step's token
/// budget allows. A prefill is a request far behind, a decode is one token behind; there are
/// no phases. Requests already running go first, then waiting ones are admitted.
///
/// When the KV cache can't hold a running request's next tokens, the last running request is
/// preempted: its blocks are freed and it recomputes later (its full blocks usually survive in
/// the prefix cache, so recomputing is mostly a cache hit).
public final class Scheduler {
    public let config: SchedulerConfig
    public let kvCacheManager: KVCacheManager

    /// In admission order; the last one is preempted first (under FCFS).
    public private(set) var running: [Request] = []
    /// Preempted requests are put back at the front.
    public internal(set) var waiting: [Request] = []
    /// Parallel-sampling siblings waiting for their leader's first token, by leader id (see
    /// `addSibling` in Scheduler+Fork.swift).
    var awaitingFork: [String: [Request]] = [:]
    private var requests: [String: Request] = [:]
    /// Finished requests whose blocks are kept for `fork` until `release` (internal for the
    /// extension in Scheduler+Fork.swift).
    var held: [String: Request] = [:]
    private var finishedSinceLastStep: [String] = []
    private var nextArrivalIndex = 0
    private var numPreemptions = 0
    private var peakBlocksUsed = 0
    private var peakTableEntries = 0
    private var wastedSlotSteps = 0
    private var allocatedSlotSteps = 0
    private var lastStepWaste = 0.0
    /// Speculative decoding's verifications so far.
    public private(set) var specStats = SpecDecodingStats()

    public init(config: SchedulerConfig, numBlocks: Int) throws(SchedulerError) {
        try config.validate()
        guard numBlocks >= 1 else { throw .invalidConfig("the KV cache needs at least one block, got \(numBlocks)") }
        self.config = config
        kvCacheManager = KVCacheManager(blockSize: config.blockSize, numBlocks: numBlocks,
                                        enableCaching: config.enablePrefixCaching, windows: config.kvCacheGroupWindows,
                                        offloadingSlots: config.kvOffloadingBlocks)
    }

    public var numRunning: Int { running.count }
    public var numWaiting: Int { waiting.count + awaitingFork.values.reduce(0) { $0 + $1.count } }
    public var hasUnfinishedRequests: Bool { !running.isEmpty || !waiting.isEmpty || !awaitingFork.isEmpty }

    /// The unfinished request with this id.
    public func request(_ requestID: String) -> Request? { requests[requestID] }

    /// Queues a request. Throws when it could never finish: an empty prompt, a duplicate id,
    /// bad sampling parameters, prompt plus `maxTokens` over `maxModelLen`, or more KV blocks
    /// than the whole cache has.
    public func add(_ request: Request) throws(SchedulerError) {
        let id = request.requestID
        guard requests[id] == nil && held[id] == nil else { throw .invalidRequest("request id \(id) is already in use") }
        guard !request.promptTokenIDs.isEmpty else { throw .invalidRequest("request \(id): the prompt is empty") }
        do { try request.samplingParams.validate() } catch { throw .invalidRequest("request \(id): \(error.description)") }
        let maxTokens = request.samplingParams.maxTokens
        guard request.numTokens + maxTokens <= config.maxModelLen else {
            throw .invalidRequest("request \(id): prompt (\(request.numTokens) tokens) plus max_tokens (\(maxTokens)) exceeds max_model_len (\(config.maxModelLen))")
        }
        // The last sampled token never needs KV, hence the - 1.
        let blocksNeeded = kvCacheManager.maxBlocksNeeded(tokens: request.numTokens + maxTokens - 1, chunk: config.maxNumBatchedTokens)
        guard blocksNeeded <= kvCacheManager.pool.numKVBlocks else {
            throw .invalidRequest("request \(id) may need \(blocksNeeded) KV blocks but the cache has \(kvCacheManager.pool.numKVBlocks)")
        }
        request.arrivalIndex = nextArrivalIndex
        nextArrivalIndex += 1
        request.status = .waiting
        requests[id] = request
        waiting.append(request)
    }

    /// Finishes the requests as aborted (unknown or finished ids are ignored) and frees their
    /// blocks. The output processor also uses this for stop strings, which only it can see.
    public func abort(_ requestIDs: some Sequence<String>) {
        for id in requestIDs {
            if let kept = held.removeValue(forKey: id) { kvCacheManager.free(kept) }
            // Siblings of a leader that stops before its first token go their own way.
            if let siblings = awaitingFork.removeValue(forKey: id) { waiting.insert(contentsOf: siblings, at: 0) }
            guard let request = requests.removeValue(forKey: id) else { continue }
            if let i = running.firstIndex(where: { $0 === request }) {
                running.remove(at: i)
                kvCacheManager.free(request)
            } else if let i = waiting.firstIndex(where: { $0 === request }) {
                waiting.remove(at: i)
                kvCacheManager.free(request)  // a forked request holds blocks while it waits
            } else {
                forgetAwaitingSibling(request)
            }
            request.status = .finishedAborted
            finishedSinceLastStep.append(id)
        }
    }

    /// `numNew` limited to `longPrefillTokenThreshold` where that is set.
    private func capped(_ numNew: Int) -> Int {
        let t = config.longPrefillTokenThreshold
        return t > 0 ? min(numNew, t) : numNew
    }

    /// Steps in flight at once (pipeline stages). Above 1, a request whose last token is still
    /// being sampled waits for it instead of being scheduled with a placeholder (its next step
    /// would need the token at the first stage before the last has sampled it), and a step takes
    /// at most its share of the requests, so the steps in flight split them between them and
    /// every stage has work.
    public var pipelineDepth = 1

    /// Picks this step's work and allocates its KV slots; advances each scheduled request's
    /// `numComputedTokens` right away.
    public func schedule() -> SchedulerOutput {
        var out = SchedulerOutput()
        var budget = config.maxNumBatchedTokens
        // Requests scheduled so far in this step: tokens given and computed count before.
        var given: [ObjectIdentifier: (numNew: Int, start: Int)] = [:]
        let share = pipelineDepth > 1 ? (running.count + waiting.count + pipelineDepth - 1) / pipelineDepth : Int.max

        // Running requests, in order.
        var i = 0
        runningLoop: while i < running.count && budget > 0 && out.scheduled.count < share {
            let request = running[i]
            var numNew = min(capped(request.numTokensWithPlaceholders - request.numComputedTokens), budget)
            guard numNew > 0, !finishesWithTokenInFlight(request),
                  !(pipelineDepth > 1 && request.numOutputPlaceholders > 0) else { i += 1; continue }
            var drafts = numNew == 1 ? specTokensToVerify(request, budget: budget - 1) : []
            numNew += drafts.count
            while kvCacheManager.allocateSlots(request, numNewTokens: numNew) == nil {
                // Proposed tokens are the first to go when memory is short.
                if !drafts.isEmpty {
                    numNew -= drafts.count
                    drafts = []
                    continue
                }
                let victimIndex = preemptionVictimIndex()
                let victim = running[victimIndex]
                // Under the priority policy the victim may have been scheduled earlier in this
                // step: it gives its tokens back, and blocks cached for KV it will now never
                // write must leave the prefix cache.
                let earlier = given.removeValue(forKey: ObjectIdentifier(victim))
                if let earlier {
                    budget += earlier.numNew
                    if out.scheduled.first(where: { $0.requestID == victim.requestID })?.samplesAfterStep == true {
                        victim.numOutputPlaceholders -= 1
                    }
                }
                preempt(at: victimIndex, numWrittenTokens: earlier?.start ?? victim.numComputedTokens)
                out.preemptedRequestIDs.append(victim.requestID)
                if victimIndex < i { i -= 1 }
                if victim === request { break runningLoop }
            }
            given[ObjectIdentifier(request)] = (numNew, request.numComputedTokens)
            out.scheduled.append(scheduleChunk(request, numNew: numNew, drafts: drafts))
            budget -= numNew
            i += 1
        }
        if !out.preemptedRequestIDs.isEmpty {
            let gone = Set(out.preemptedRequestIDs)
            out.scheduled.removeAll { gone.contains($0.requestID) }
        }

        // Waiting requests, unless this step already had to preempt (memory is short).
        if out.preemptedRequestIDs.isEmpty {
            // --max-loras: the running set never holds more distinct adapters than that; a
            // request whose adapter would exceed it is passed over (it keeps its place).
            var activeLoRAs = Set(running.compactMap(\.loraID))
            var passedOver = Set<ObjectIdentifier>()
            while budget > 0, running.count < config.maxNumSeqs, out.scheduled.count < share, let w = nextWaitingIndex(skipping: passedOver) {
                let request = waiting[w]
                if let max = config.maxLoras, let lora = request.loraID, !activeLoRAs.contains(lora), activeLoRAs.count >= max {
                    passedOver.insert(ObjectIdentifier(request))
                    continue
                }
                // Preempted while its last token was being sampled (async scheduling): it
                // resumes once that token has arrived.
                if request.numOutputPlaceholders > 0 {
                    passedOver.insert(ObjectIdentifier(request))
                    continue
                }
                // A forked request starts from its parent's blocks, not from the prefix cache. A
                // request wanting prompt logprobs computes its whole prompt (as vLLM: cached
                // blocks would skip the rows they need).
                let forked = kvCacheManager.holdsBlocks(request.requestID)
                let (hits, numCached, offloaded) = forked ? ([], request.numComputedTokens, [])
                    : request.samplingParams.promptLogprobs != nil ? ([], 0, [])
                    : kvCacheManager.computedBlocks(for: request)
                var numNew = capped(request.numTokens - numCached)
                if numNew > budget {
                    if !config.enableChunkedPrefill { break }
                    numNew = budget
                }
                guard kvCacheManager.allocateSlots(request, numNewTokens: numNew, newComputedBlocks: hits, offloaded: offloaded) != nil else {
                    // Blocks held while waiting could starve everyone: give them back; the
                    // request recomputes later (mostly prefix-cache hits).
                    if forked { kvCacheManager.free(request); request.numComputedTokens = 0 }
                    // Forked requests further back may hold the blocks this one needs: they
                    // give them back too (else a queue of them could wait forever), and it tries again.
                    else if releaseForkedWaiting() { continue }
                    // With nothing running no block would ever be freed for it (finished beams
                    // keep theirs until their continuations run): later requests go first.
                    if running.isEmpty {
                        passedOver.insert(ObjectIdentifier(request))
                        continue
                    }
                    break
                }
                waiting.remove(at: w)
                if request.status == .waiting { request.numCachedTokens = numCached }
                request.status = .running
                request.numComputedTokens = numCached
                running.append(request)
                if let lora = request.loraID { activeLoRAs.insert(lora) }
                out.scheduled.append(scheduleChunk(request, numNew: numNew))
                budget -= numNew
            }
        }

        out.totalNumScheduledTokens = config.maxNumBatchedTokens - budget
        out.blockCopies = kvCacheManager.takePendingCopies()
        if let tier = kvCacheManager.offloading { (out.offloadStores, out.offloadLoads) = tier.takeTransfers() }
        out.finishedRequestIDs = finishedSinceLastStep
        finishedSinceLastStep = []
        recordKVStats()
        return out
    }

    /// Applies a step's sampled tokens (`sampled[requestID]`, for requests scheduled with
    /// `samplesAfterStep`) and finishes requests that hit EOS (unless `ignoreEOS`), a stop
    /// token id, `maxTokens` or `maxModelLen`, freeing their blocks at once. EOS and stop
    /// tokens are checked before the length limits, so a stop token that is also the last
    /// allowed one reports "stop". Stop strings are not checked here: only the detokenizer
    /// sees text, and it calls `abort`. Requests aborted since `schedule()` are skipped.
    public func update(output: SchedulerOutput, sampled: [String: Int]) -> [RequestUpdate] {
        update(output: output, sampled: sampled.mapValues { [$0] })
    }

    /// `update` for steps that verified proposed tokens: each request's sampled tokens are its
    /// accepted proposals and one more, applied in order until one finishes the request.
    /// Computed tokens past the accepted ones are rolled back and whole blocks of rejected
    /// proposals freed.
    public func update(output: SchedulerOutput, sampled: [String: [Int]]) -> [RequestUpdate] {
        var updates: [RequestUpdate] = []
        for s in output.scheduled where s.samplesAfterStep {
            // A request preempted after this step was scheduled (async scheduling schedules the
            // next step first) still takes its token, as it would have before the preemption.
            guard let request = requests[s.requestID], request.arrivalIndex == s.arrivalIndex,
                  request.status == .running || request.status == .preempted else { continue }
            request.numOutputPlaceholders -= 1
            guard let tokens = sampled[s.requestID], !tokens.isEmpty else { continue }
            precondition(tokens.count <= s.numSpecTokens + 1, "\(s.requestID): more tokens than proposals plus one")
            var taken: [Int] = []
            for token in tokens where !request.status.isFinished {
                request.appendOutputToken(token)
                taken.append(token)
                if request.numOutputTokens == 1 { forkSiblings(of: request) }
                let params = request.samplingParams
                let mayStop = request.numOutputTokens >= params.minTokens  // vLLM: no stop before min_tokens
                if mayStop && ((!params.ignoreEOS && token == request.eosTokenID) || params.stopTokenIDs.contains(token)) {
                    request.status = .finishedStopped
                } else if request.numOutputTokens >= params.maxTokens || request.numTokens >= config.maxModelLen {
                    request.status = .finishedLength
                }
            }
            if s.numSpecTokens > 0 { recordVerification(request, s, numAccepted: tokens.count - 1) }
            if request.status.isFinished {
                running.removeAll { $0 === request }
                waiting.removeAll { $0 === request }
                if request.keepsBlocksWhenFinished { held[request.requestID] = request } else { kvCacheManager.free(request) }
                requests.removeValue(forKey: request.requestID)
                finishedSinceLastStep.append(request.requestID)
            }
            updates.append(RequestUpdate(requestID: request.requestID, newTokenIDs: taken, status: request.status))
        }
        return updates
    }

    /// Async scheduling: `next` was scheduled before the step in flight reported. Its requests
    /// that finished or were aborted or preempted since then leave it (a request kept for
    /// forking goes back to the tokens it has KV for), so no step computes past a request's end.
    public func dropStale(from next: inout SchedulerOutput) {
        next.scheduled.removeAll { s in
            if let r = requests[s.requestID], r.arrivalIndex == s.arrivalIndex, r.status == .running { return false }
            if let kept = held[s.requestID], kept.arrivalIndex == s.arrivalIndex { kept.numComputedTokens = s.startPosition }
            next.totalNumScheduledTokens -= s.numTokens
            return true
        }
    }

    /// The step `output` did not run because the KV of `invalidBlockIDs` failed to load from
    /// the offloading tier: those hashes leave the tier and the prefix cache, so do blocks the
    /// step would have filled (other requests may have hit them) and the stores it would have
    /// made, and every request of the step is preempted to recompute what is no longer cached.
    public func recoverFromFailedLoads(_ output: SchedulerOutput, invalidBlockIDs: Set<Int>) {
        let pool = kvCacheManager.pool
        for load in output.offloadLoads where invalidBlockIDs.contains(load.blockID) {
            kvCacheManager.offloading?.forget(load.hash)
        }
        for store in output.offloadStores { kvCacheManager.offloading?.forget(store.hash) }
        kvCacheManager.offloading?.numFailedLoads += invalidBlockIDs.count
        for id in invalidBlockIDs { pool.evict(pool.blocks[id]) }
        for s in output.scheduled {
            for table in s.blockTables where s.startPosition / config.blockSize < table.count {
                for id in table[(s.startPosition / config.blockSize)...] { pool.evict(pool.blocks[id]) }
            }
        }
        for s in output.scheduled {
            guard let request = requests[s.requestID], let i = running.firstIndex(where: { $0 === request }) else { continue }
            preempt(at: i, numWrittenTokens: s.startPosition)
        }
    }

    public var stats: SchedulerStats {
        let pool = kvCacheManager.pool
        var s = SchedulerStats()
        s.numRunning = running.count
        s.numWaiting = numWaiting
        s.numPreemptions = numPreemptions
        s.prefixCacheQueries = pool.prefixCacheQueries
        s.prefixCacheHits = pool.prefixCacheHits
        s.kvUsage = pool.usage
        s.kvBlocksUsed = pool.numBlocks - pool.numFreeBlocks
        s.kvBlocksFree = pool.numFreeBlocks
        s.kvTableEntries = kvCacheManager.numTableEntries
        s.peakKVTableEntries = peakTableEntries
        s.peakKVBlocksUsed = peakBlocksUsed
        s.kvWaste = allocatedSlotSteps == 0 ? 0 : Double(wastedSlotSteps) / Double(allocatedSlotSteps)
        s.lastStepKVWaste = lastStepWaste
        if let tier = kvCacheManager.offloading {
            s.offload = OffloadStats(blocksStored: tier.numStored, blocksLoaded: tier.numLoaded, queries: tier.queries,
                                     hits: tier.hits, slotsUsed: tier.numUsedSlots, slots: tier.numSlots)
        }
        s.specDecoding = specStats
        s.runningLoRAIDs = Set(running.compactMap(\.loraID))
        s.waitingLoRAIDs = Set(waiting.compactMap(\.loraID))
        return s
    }

    // MARK: - Helpers

    /// `numNew` tokens of `request` from its computed ones, the last `drafts.count` of them
    /// proposed tokens to verify.
    private func scheduleChunk(_ request: Request, numNew: Int, drafts: [Int] = []) -> ScheduledRequest {
        let start = request.numComputedTokens
        request.numComputedTokens += numNew
        let end = start + numNew - drafts.count
        let known = min(end, request.numTokens)
        let tokens = Array(request.allTokenIDs[start ..< known])
            + Array(repeating: ScheduledRequest.placeholderTokenID, count: end - known) + drafts
        let samples = end == request.numTokensWithPlaceholders
        if samples { request.numOutputPlaceholders += 1 }
        return ScheduledRequest(requestID: request.requestID, tokenIDs: tokens, startPosition: start,
                                blockTables: kvCacheManager.blockTables(request.requestID),
                                samplesAfterStep: samples, loraID: request.loraID, arrivalIndex: request.arrivalIndex,
                                numSpecTokens: drafts.count)
    }

    /// The request's proposed tokens this step can verify: as many as the budget allows and no
    /// more than could be accepted before `maxTokens` or `maxModelLen` (one token always follows
    /// the accepted ones).
    private func specTokensToVerify(_ request: Request, budget: Int) -> [Int] {
        guard !request.specTokenIDs.isEmpty, request.numOutputPlaceholders == 0 else { return [] }
        let room = min(budget, request.samplingParams.maxTokens - request.numOutputTokens - 1,
                       config.maxModelLen - request.numTokens - 1)
        return Array(request.specTokenIDs.prefix(max(0, room)))
    }

    /// Counts a verification, rolls the request's computed tokens back to its accepted ones and
    /// frees the blocks only rejected proposals used.
    private func recordVerification(_ request: Request, _ s: ScheduledRequest, numAccepted: Int) {
        specStats.numDrafts += 1
        specStats.numDraftTokens += s.numSpecTokens
        specStats.numAcceptedTokens += numAccepted
        if specStats.acceptedPerPosition.count < s.numSpecTokens {
            specStats.acceptedPerPosition += Array(repeating: 0, count: s.numSpecTokens - specStats.acceptedPerPosition.count)
        }
        for p in 0..<numAccepted { specStats.acceptedPerPosition[p] += 1 }
        request.specTokenIDs = []
        guard request.status == .running else { return }
        request.numComputedTokens -= s.numSpecTokens - numAccepted
        kvCacheManager.truncate(request, numTokens: request.numComputedTokens)
    }

    /// Whether the token in flight is certainly the request's last (its length limit), so
    /// async scheduling gives it no further step.
    private func finishesWithTokenInFlight(_ request: Request) -> Bool {
        let n = request.numOutputPlaceholders
        return n > 0 && (request.numOutputTokens + n >= request.samplingParams.maxTokens
                         || request.numTokens + n >= config.maxModelLen)
    }

    /// Frees the blocks of waiting forked requests, which then recompute (mostly prefix-cache
    /// hits); whether there were any.
    private func releaseForkedWaiting() -> Bool {
        let holders = waiting.filter { kvCacheManager.holdsBlocks($0.requestID) }
        for r in holders {
            kvCacheManager.free(r)
            r.numComputedTokens = 0
        }
        return !holders.isEmpty
    }

    /// FCFS: the last admitted. Priority: the highest priority value, latest arrival first.
    private func preemptionVictimIndex() -> Int {
        switch config.policy {
        case .fcfs:
            return running.count - 1
        case .priority:
            return running.indices.max { (running[$0].priority, running[$0].arrivalIndex) < (running[$1].priority, running[$1].arrivalIndex) }!
        }
    }

    private func preempt(at index: Int, numWrittenTokens: Int) {
        let victim = running.remove(at: index)
        kvCacheManager.free(victim, numWrittenTokens: numWrittenTokens)
        victim.numComputedTokens = 0
        victim.status = .preempted
        victim.numPreemptions += 1
        numPreemptions += 1
        waiting.insert(victim, at: 0)
    }

    private func nextWaitingIndex(skipping passedOver: Set<ObjectIdentifier>) -> Int? {
        let open = { (i: Int) in passedOver.isEmpty || !passedOver.contains(ObjectIdentifier(self.waiting[i])) }
        switch config.policy {
        case .fcfs:
            return waiting.indices.first(where: open)
        case .priority:
            return waiting.indices.filter(open).min { (waiting[$0].priority, waiting[$0].arrivalIndex) < (waiting[$1].priority, waiting[$1].arrivalIndex) }
        }
    }

    /// Unfinished requests (waiting, running or kept for forking) using LoRA adapter `loraID`.
    public func numRequests(loraID: Int) -> Int {
        requests.values.count { $0.loraID == loraID } + held.values.count { $0.loraID == loraID && requests[$0.requestID] == nil }
    }

    private func recordKVStats() {
        let pool = kvCacheManager.pool
        peakBlocksUsed = max(peakBlocksUsed, pool.numBlocks - pool.numFreeBlocks)
        peakTableEntries = max(peakTableEntries, kvCacheManager.numTableEntries)
        let allocated = kvCacheManager.allocatedSlots
        let wasted = allocated - kvCacheManager.usedSlots
        wastedSlotSteps += wasted
        allocatedSlotSteps += allocated
        lastStepWaste = allocated == 0 ? 0 : Double(wasted) / Double(allocated)
    }
}
