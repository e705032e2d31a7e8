import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// Drives the scheduler and KV cache manager through seeded random workloads with a fake
/// model that reads and writes a simulated paged KV cache, and checks the bookkeeping after
/// every step and the generated tokens at the end.
@Suite struct SchedulerPropertyTests {
    /// 1,200 workloads by default (a few seconds in a debug build); set
    /// VLLM_PROPERTY_WORKLOADS for a longer soak, e.g. 100000 in release.
    static let shards = 8  // run in parallel
    static let workloadsPerShard: Int = {
        let total = ProcessInfo.processInfo.environment["VLLM_PROPERTY_WORKLOADS"].flatMap(Int.init) ?? 1_200
        return max(1, total / shards)
    }()

    @Test(arguments: 0..<shards)
    func randomWorkloadsKeepInvariantsAndOutputs(shard: Int) {
        var totals = WorkloadTotals()
        for w in 0..<Self.workloadsPerShard {
            let seed = UInt64(shard * Self.workloadsPerShard + w)
            guard let t = runWorkload(seed: seed) else { return }  // the failure is recorded
            totals.add(t)
        }
        // The workloads must actually exercise the interesting paths.
        #expect(totals.workloadsWithPreemption > Self.workloadsPerShard / 20, "\(totals)")
        #expect(totals.prefixHitTokens > 0 && totals.chunkedPrefills > 0 && totals.aborted > 0, "\(totals)")
        #expect(totals.thresholdChunks > 0, "\(totals)")
        #expect(totals.finishedByEOS > 0 && totals.finishedByLength > 0, "\(totals)")
        #expect(totals.offloadLoadedBlocks > 0 && totals.offloadStoredBlocks > 0, "\(totals)")
    }
}

struct WorkloadTotals: CustomStringConvertible {
    var workloadsWithPreemption = 0, preemptions = 0, prefixHitTokens = 0, chunkedPrefills = 0
    var aborted = 0, finishedByEOS = 0, finishedByLength = 0, steps = 0
    /// Prompt chunks cut by the long-prefill threshold rather than the step's budget.
    var thresholdChunks = 0
    /// Blocks moved into and out of the KV offloading tier.
    var offloadStoredBlocks = 0, offloadLoadedBlocks = 0

    mutating func add(_ o: WorkloadTotals) {
        workloadsWithPreemption += o.workloadsWithPreemption
        preemptions += o.preemptions
        prefixHitTokens += o.prefixHitTokens
        chunkedPrefills += o.chunkedPrefills
        aborted += o.aborted
        finishedByEOS += o.finishedByEOS
        finishedByLength += o.finishedByLength
        steps += o.steps
        thresholdChunks += o.thresholdChunks
        offloadStoredBlocks += o.offloadStoredBlocks
        offloadLoadedBlocks += o.offloadLoadedBlocks
    }

    var description: String {
        "steps \(steps), preempting workloads \(workloadsWithPreemption), preemptions \(preemptions), prefix hits \(prefixHitTokens), chunked \(chunkedPrefills) (\(thresholdChunks) by threshold), aborted \(aborted), eos \(finishedByEOS), length \(finishedByLength), offloaded \(offloadStoredBlocks), loaded back \(offloadLoadedBlocks)"
    }
}

/// The fake model: the KV row at position p is a hash chained over the sequence's tokens
/// 0...p, computed from the row at p - 1 read back through the block table, so any wrong
/// block (bad table, bad prefix hit, missed copy, overwritten block) changes every later
/// row and sampled token. The sampled token is a function of the last row.
enum FakeModel {
    static let eos = 0
    static let vocab = 48

    static func row(after previous: UInt64, token: Int) -> UInt64 {
        var z = (previous ^ UInt64(token &+ 1)) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func sample(_ row: UInt64) -> Int { Int(row % UInt64(vocab)) }

    /// What the model generates for the request run alone: tokens and finish status.
    static func reference(prompt: [Int], params: SamplingParams, maxModelLen: Int) -> ([Int], RequestStatus) {
        var h: UInt64 = 0
        for t in prompt { h = row(after: h, token: t) }
        var out: [Int] = []
        while true {
            let t = sample(h)
            out.append(t)
            if (!params.ignoreEOS && t == eos) || params.stopTokenIDs.contains(t) { return (out, .finishedStopped) }
            if out.count >= params.maxTokens || prompt.count + out.count >= maxModelLen { return (out, .finishedLength) }
            h = row(after: h, token: t)
        }
    }
}

private struct Planned {
    let request: Request
    let arrivalStep: Int
    let abortStep: Int?
    let expected: ([Int], RequestStatus)
}

/// Runs one workload; returns nil after recording the first failure.
func runWorkload(seed: UInt64) -> WorkloadTotals? {
    var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 12345)
    func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    // Small blocks make big pools (slow invariant scans in debug builds), so they are rarer.
    let blockSize = chance(0.05) ? 1 : pick([2, 4, 8, 8, 16, 16, 16])
    let maxModelLen = 400
    let chunked = chance(0.8)
    let budget = chunked ? pick([7, 16, 32, 64, 128, 512, 2048, Int.random(in: 4...400, using: &rng)])
                         : Int.random(in: maxModelLen...1000, using: &rng)
    let caching = chance(0.8)
    let threshold = chance(0.25) ? pick([1, 3, 16, Int.random(in: 1...64, using: &rng)]) : 0
    let policy: SchedulingPolicy = chance(0.3) ? .priority : .fcfs
    let maxNumSeqs = pick([1, 2, 4, 8, 16, 256])

    // Requests: prompts drawn from a few shared prefixes (so the prefix cache hits) plus suffixes.
    let prefixes = (0..<3).map { _ in (0..<Int.random(in: 0...120, using: &rng)).map { _ in Int.random(in: 0..<1000, using: &rng) } }
    let numRequests = Int.random(in: 1...8, using: &rng)
    var planned: [Planned] = []
    var maxBlocksAlone = 1
    for i in 0..<numRequests {
        var prompt = chance(0.7) ? pick(prefixes) : []
        let total = Int.random(in: 1...300, using: &rng)
        if prompt.count >= total { prompt = Array(prompt[..<total]) }
        while prompt.count < total { prompt.append(Int.random(in: 0..<1000, using: &rng)) }
        let params = SamplingParams(maxTokens: Int.random(in: 1...24, using: &rng), ignoreEOS: chance(0.2),
                                    stopTokenIDs: chance(0.2) ? [Int.random(in: 1..<FakeModel.vocab, using: &rng)] : [])
        let request = Request(requestID: "r\(i)", promptTokenIDs: prompt, samplingParams: params,
                              eosTokenID: FakeModel.eos, priority: Int.random(in: 0...3, using: &rng))
        maxBlocksAlone = max(maxBlocksAlone, (prompt.count + params.maxTokens - 1 + blockSize - 1) / blockSize)
        planned.append(Planned(request: request, arrivalStep: chance(0.5) ? 0 : Int.random(in: 0...40, using: &rng),
                               abortStep: chance(0.1) ? Int.random(in: 0...60, using: &rng) : nil,
                               expected: FakeModel.reference(prompt: prompt, params: params, maxModelLen: maxModelLen)))
    }
    // Tiny pools force preemption; some are roomy.
    let numBlocks = maxBlocksAlone + Int.random(in: 0...(chance(0.2) ? 3 * maxBlocksAlone : maxBlocksAlone / 2), using: &rng)

    var config = SchedulerConfig(maxNumBatchedTokens: budget, maxNumSeqs: maxNumSeqs, maxModelLen: maxModelLen,
                                 blockSize: blockSize, enableChunkedPrefill: chunked, longPrefillTokenThreshold: threshold,
                                 enablePrefixCaching: caching, policy: policy)
    // A KV offloading tier from one block to twice the pool.
    let offloadSlots = caching && chance(0.3) ? Int.random(in: 1...2 * numBlocks, using: &rng) : 0
    if offloadSlots > 0 { config.kvOffloadingBlocks = offloadSlots }
    let scheduler: Scheduler
    do { scheduler = try Scheduler(config: config, numBlocks: numBlocks) } catch {
        Issue.record("seed \(seed): \(error)")
        return nil
    }
    let manager = scheduler.kvCacheManager
    let pool = manager.pool
    // The simulated KV cache, slot by slot (slot = blockID * blockSize + offset): the position
    // each slot's row was written for (-1: never), the row, and the step that wrote it.
    var kvPos = [Int](repeating: -1, count: numBlocks * blockSize)
    var kvRow = [UInt64](repeating: 0, count: numBlocks * blockSize)
    var kvStep = [Int](repeating: -1, count: numBlocks * blockSize)
    let blocks = pool.blocks
    // The tier's slots, as the pool's: position and row per token slot.
    var tierPos = [Int](repeating: -1, count: offloadSlots * blockSize)
    var tierRow = [UInt64](repeating: 0, count: offloadSlots * blockSize)

    var totals = WorkloadTotals()
    var live: [String: Planned] = [:]
    var done: Set<String> = []
    var step = 0
    func fail(_ message: String) -> WorkloadTotals? {
        Issue.record("seed \(seed) step \(step): \(message)")
        return nil
    }

    while done.count < planned.count {
        if step > 20_000 { return fail("no progress") }
        for p in planned where p.arrivalStep == step {
            do { try scheduler.add(p.request) } catch { return fail("add: \(error)") }
            live[p.request.requestID] = p
        }
        let toAbort = live.values.filter { $0.abortStep == step }.map(\.request.requestID).sorted()
        if !toAbort.isEmpty {
            scheduler.abort(toAbort)
            for id in toAbort {
                live[id] = nil
                done.insert(id)
                totals.aborted += 1
            }
        }

        let out = scheduler.schedule()
        totals.steps += 1
        if !out.preemptedRequestIDs.isEmpty { totals.preemptions += out.preemptedRequestIDs.count }

        // Bookkeeping invariants.
        if out.totalNumScheduledTokens > budget { return fail("scheduled \(out.totalNumScheduledTokens) > budget \(budget)") }
        if out.totalNumScheduledTokens != out.scheduled.reduce(0, { $0 + $1.numTokens }) { return fail("token total") }
        if Set(out.scheduled.map(\.requestID)).count != out.scheduled.count { return fail("a request scheduled twice") }
        if scheduler.numRunning > maxNumSeqs { return fail("running > maxNumSeqs") }
        if !out.blockCopies.isEmpty { return fail("unexpected copies without forks") }
        var holders = [Int](repeating: 0, count: numBlocks)
        for r in scheduler.running {
            let table = manager.blocks(r.requestID)
            if table.count != (r.numComputedTokens + blockSize - 1) / blockSize {
                return fail("\(r.requestID) holds \(table.count) blocks for \(r.numComputedTokens) tokens")
            }
            for b in table { holders[b.blockID] += 1 }
        }
        for r in scheduler.waiting where !manager.blocks(r.requestID).isEmpty || r.numComputedTokens != 0 {
            return fail("waiting \(r.requestID) holds blocks")
        }
        var numFree = 0
        for id in 0..<numBlocks {
            let b = blocks[id]
            if b.refCount != holders[b.blockID] { return fail("block \(b.blockID) refCount \(b.refCount), held by \(holders[b.blockID])") }
            if b.isInFreeQueue != (b.refCount == 0) { return fail("block \(b.blockID) free-queue state") }
            if b.refCount == 0 { numFree += 1 }
            if step % 32 == 0, let h = b.blockHash, pool.getCachedBlock(h) !== b { return fail("block \(b.blockID) hash not mapped") }
        }
        if numFree != pool.numFreeBlocks { return fail("free count") }
        if step % 32 == 0, Set(pool.freeQueue.blocks.map(\.blockID)) != Set(pool.blocks.filter { $0.refCount == 0 }.map(\.blockID)) {
            return fail("free queue contents")
        }

        // The tier's loads, the fake model over the step, then the tier's stores.
        for t in out.offloadLoads {
            for k in 0..<blockSize {
                kvPos[t.blockID * blockSize + k] = tierPos[t.slot * blockSize + k]
                kvRow[t.blockID * blockSize + k] = tierRow[t.slot * blockSize + k]
                kvStep[t.blockID * blockSize + k] = -1
            }
        }
        totals.offloadStoredBlocks += out.offloadStores.count
        totals.offloadLoadedBlocks += out.offloadLoads.count
        var sampled: [String: Int] = [:]
        for s in out.scheduled {
            guard let r = scheduler.request(s.requestID) else { return fail("scheduled unknown \(s.requestID)") }
            if s.blockIDs != manager.blockIDs(s.requestID) { return fail("stale block table") }
            if s.startPosition + s.numTokens != r.numComputedTokens { return fail("positions") }
            if !s.tokenIDs.elementsEqual(r.allTokenIDs[s.startPosition ..< s.startPosition + s.numTokens]) { return fail("tokens") }
            if s.samplesAfterStep != (r.numComputedTokens == r.numTokens) { return fail("samplesAfterStep") }
            if s.startPosition == 0 && !s.samplesAfterStep { totals.chunkedPrefills += 1 }
            if threshold > 0 && s.numTokens > threshold { return fail("\(s.numTokens) tokens over the threshold \(threshold)") }
            if threshold > 0 && s.numTokens == threshold && !s.samplesAfterStep && out.totalNumScheduledTokens < budget {
                totals.thresholdChunks += 1
            }
            var row: UInt64 = 0
            if s.startPosition > 0 {
                let p = s.startPosition - 1
                let slot = s.blockIDs[p / blockSize] * blockSize + p % blockSize
                guard kvPos[slot] == p else { return fail("\(s.requestID): KV row \(p) missing") }
                row = kvRow[slot]
            }
            for (j, t) in s.tokenIDs.enumerated() {
                let p = s.startPosition + j
                let block = s.blockIDs[p / blockSize]
                // A block may be shared while written only when another request got it as a
                // prefix-cache hit on contents this step produces (the hit is read-only).
                if blocks[block].refCount != 1 && blocks[block].blockHash == nil {
                    return fail("write into shared block \(block)")
                }
                let slot = block * blockSize + p % blockSize
                if kvStep[slot] == step { return fail("slot written twice in a step") }
                row = FakeModel.row(after: row, token: t)
                kvPos[slot] = p
                kvRow[slot] = row
                kvStep[slot] = step
            }
            if s.samplesAfterStep { sampled[s.requestID] = FakeModel.sample(row) }
        }
        for t in out.offloadStores {
            for k in 0..<blockSize {
                tierPos[t.slot * blockSize + k] = kvPos[t.blockID * blockSize + k]
                tierRow[t.slot * blockSize + k] = kvRow[t.blockID * blockSize + k]
            }
        }
        let updates = scheduler.update(output: out, sampled: sampled)
        if updates.map(\.requestID) != out.scheduled.filter(\.samplesAfterStep).map(\.requestID) { return fail("updates") }
        for u in updates where u.isFinished {
            guard let p = live.removeValue(forKey: u.requestID) else { return fail("finished twice") }
            done.insert(u.requestID)
            if p.request.outputTokenIDs != p.expected.0 || u.status != p.expected.1 {
                return fail("\(u.requestID) produced \(p.request.outputTokenIDs) \(u.status), alone \(p.expected)")
            }
            if u.status == .finishedStopped { totals.finishedByEOS += 1 } else { totals.finishedByLength += 1 }
        }
        step += 1
    }

    for p in planned where p.request.status == .finishedAborted {
        if !p.expected.0.starts(with: p.request.outputTokenIDs) { return fail("aborted \(p.request.requestID) diverged") }
    }
    if scheduler.hasUnfinishedRequests { return fail("requests left") }
    if pool.numFreeBlocks != numBlocks || pool.blocks.contains(where: { $0.refCount != 0 }) { return fail("blocks leaked") }
    let stats = scheduler.stats
    if stats.numPreemptions != totals.preemptions { return fail("preemption count") }
    if stats.peakKVBlocksUsed > numBlocks || stats.kvWaste < 0 || stats.kvWaste >= 1 { return fail("stats \(stats)") }
    if totals.preemptions > 0 { totals.workloadsWithPreemption = 1 }
    totals.prefixHitTokens = stats.prefixCacheHits
    return totals
}
