import Testing
@testable import VLLMEngine

@Suite struct SchedulerTests {
    func makeScheduler(budget: Int = 2048, maxNumSeqs: Int = 256, maxModelLen: Int = 256, blockSize: Int = 4,
                       numBlocks: Int = 64, chunked: Bool = true, caching: Bool = true,
                       policy: SchedulingPolicy = .fcfs) throws -> Scheduler {
        try Scheduler(config: SchedulerConfig(maxNumBatchedTokens: budget, maxNumSeqs: maxNumSeqs, maxModelLen: maxModelLen,
                                              blockSize: blockSize, enableChunkedPrefill: chunked,
                                              enablePrefixCaching: caching, policy: policy),
                      numBlocks: numBlocks)
    }

    func request(_ id: String, _ prompt: [Int], maxTokens: Int = 16, priority: Int = 0, eos: Int? = nil,
                 ignoreEOS: Bool = false, stopTokenIDs: [Int] = []) -> Request {
        Request(requestID: id, promptTokenIDs: prompt,
                samplingParams: SamplingParams(maxTokens: maxTokens, ignoreEOS: ignoreEOS, stopTokenIDs: stopTokenIDs),
                eosTokenID: eos, priority: priority)
    }

    /// Samples `token` for every request that samples this step.
    func step(_ s: Scheduler, token: Int = 1) -> (SchedulerOutput, [RequestUpdate]) {
        let out = s.schedule()
        let sampled = Dictionary(uniqueKeysWithValues: out.scheduled.filter(\.samplesAfterStep).map { ($0.requestID, token) })
        return (out, s.update(output: out, sampled: sampled))
    }

    @Test func defaultsAndConfigValidation() throws {
        let c = SchedulerConfig(maxModelLen: 2048)
        #expect(c.maxNumBatchedTokens == 2048 && c.maxNumSeqs == 256 && c.blockSize == 16)
        #expect(c.enableChunkedPrefill && c.enablePrefixCaching && c.policy == .fcfs)
        #expect(throws: SchedulerError.self) { try makeScheduler(budget: 100, maxModelLen: 200, chunked: false) }
        #expect(throws: SchedulerError.self) { try makeScheduler(budget: 0) }
        #expect(throws: SchedulerError.self) { try makeScheduler(numBlocks: 0) }
    }

    @Test func rejectsRequestsThatCanNeverFinish() throws {
        let s = try makeScheduler(maxModelLen: 100, numBlocks: 20)
        do {
            try s.add(request("a", Array(0..<90), maxTokens: 20))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("90") && error.description.contains("20") && error.description.contains("100"))
        }
        #expect(throws: SchedulerError.self) { try s.add(request("e", [])) }
        #expect(throws: SchedulerError.self) { try s.add(request("m", [1], maxTokens: 0)) }
        #expect(throws: SchedulerError.self) { try s.add(request("big", Array(0..<80), maxTokens: 20)) }  // 25 blocks > 20
        try s.add(request("ok", Array(0..<76), maxTokens: 5))  // 80 tokens of KV: exactly 20 blocks
        #expect(throws: SchedulerError.self) { try s.add(request("ok", [1])) }
        #expect(s.numWaiting == 1)
    }

    @Test func chunkedPrefillThenDecodeWithOneRule() throws {
        let s = try makeScheduler(budget: 8)
        let r = request("a", Array(10..<30), maxTokens: 3)
        try s.add(r)
        var chunks: [(Int, Int, Bool)] = []
        while s.hasUnfinishedRequests {
            let (out, _) = step(s, token: 5)
            #expect(out.scheduled.count == 1)
            let c = out.scheduled[0]
            chunks.append((c.startPosition, c.numTokens, c.samplesAfterStep))
            #expect(c.tokenIDs == Array(r.allTokenIDs[c.startPosition ..< c.startPosition + c.numTokens]))
            #expect(c.blockIDs.count == (c.startPosition + c.numTokens + 3) / 4)
        }
        #expect(chunks.map(\.0) == [0, 8, 16, 20, 21])
        #expect(chunks.map(\.1) == [8, 8, 4, 1, 1])
        #expect(chunks.map(\.2) == [false, false, true, true, true])
        #expect(r.outputTokenIDs == [5, 5, 5] && r.status == .finishedLength)
    }

    @Test func withoutChunkedPrefillALongPromptWaitsForRoom() throws {
        let s = try makeScheduler(budget: 32, maxModelLen: 32, chunked: false)
        try s.add(request("a", Array(0..<10), maxTokens: 3))
        try s.add(request("a2", Array(50..<60), maxTokens: 3))
        try s.add(request("b", Array(100..<131), maxTokens: 1))
        var (out, _) = step(s)
        #expect(out.scheduled.map(\.requestID) == ["a", "a2"])  // b (31) doesn't fit the 12 left
        for _ in 0..<2 {
            (out, _) = step(s)
            #expect(out.scheduled.map(\.requestID) == ["a", "a2"] && s.numWaiting == 1)  // 30 left: no
        }
        (out, _) = step(s)
        #expect(out.scheduled.map(\.requestID) == ["b"] && out.finishedRequestIDs == ["a", "a2"])
        #expect(out.scheduled[0].numTokens == 31)
    }

    @Test func stopConditions() throws {
        let s = try makeScheduler()
        let eos = request("eos", [1, 2], eos: 9)
        let ignore = request("ignore", [1, 2], maxTokens: 2, eos: 9, ignoreEOS: true)
        let stopTok = request("stop", [3], eos: 1, stopTokenIDs: [9])
        for r in [eos, ignore, stopTok] { try s.add(r) }
        let (_, updates) = step(s, token: 9)
        #expect(updates.map(\.requestID) == ["eos", "ignore", "stop"])
        #expect(updates.map(\.status) == [.finishedStopped, .running, .finishedStopped])
        #expect(updates[0].finishReason == "stop" && updates[0].newTokenIDs == [9])
        let (out, updates2) = step(s, token: 9)
        #expect(Set(out.finishedRequestIDs) == ["eos", "stop"])
        #expect(updates2.map(\.status) == [.finishedLength] && ignore.outputTokenIDs == [9, 9])
        #expect(!s.hasUnfinishedRequests && s.kvCacheManager.numFreeBlocks == 64)
    }

    @Test func abortFreesBlocksAndIsReportedOnce() throws {
        let s = try makeScheduler()
        try s.add(request("a", Array(0..<9)))
        try s.add(request("b", Array(0..<3)))
        _ = step(s)
        try s.add(request("w", [5]))
        s.abort(["a", "w", "nope"])
        #expect(s.kvCacheManager.blockIDs("a").isEmpty && s.numRunning == 1 && s.numWaiting == 0)
        let (out, _) = step(s)
        #expect(out.finishedRequestIDs == ["a", "w"] && out.scheduled.map(\.requestID) == ["b"])
        #expect(step(s).0.finishedRequestIDs.isEmpty)
    }

    @Test func preemptsTheLastRunningRequestAndResumesItFromTheCache() throws {
        // 6 blocks of 4 slots. a and b each take 2 blocks for their prompts; decoding needs more.
        let s = try makeScheduler(blockSize: 4, numBlocks: 6)
        let a = request("a", Array(0..<8), maxTokens: 12)
        let b = request("b", Array(100..<108), maxTokens: 12)
        try s.add(a)
        try s.add(b)
        var preempted: [String] = []
        var sawResume = false
        var steps = 0
        while s.hasUnfinishedRequests && steps < 200 {
            let (out, _) = step(s, token: 3)
            preempted += out.preemptedRequestIDs
            if !out.preemptedRequestIDs.isEmpty {
                #expect(out.preemptedRequestIDs == ["b"])
                #expect(b.status == .preempted && b.numComputedTokens == 0 && s.waiting.first === b)
                #expect(s.kvCacheManager.blockIDs("b").isEmpty)
                #expect(!out.scheduled.contains { $0.requestID == "b" })
            }
            if let c = out.scheduled.first(where: { $0.requestID == "b" }), b.numPreemptions > 0, !sawResume {
                sawResume = true
                // Its full blocks were still cached: only the tail is recomputed.
                #expect(c.startPosition > 0 && c.startPosition % 4 == 0)
            }
            steps += 1
        }
        #expect(!preempted.isEmpty && sawResume && s.stats.numPreemptions == preempted.count)
        #expect(a.outputTokenIDs.count == 12 && b.outputTokenIDs.count == 12)
        #expect(s.kvCacheManager.numFreeBlocks == 6)
    }

    @Test func priorityPolicyAdmitsLowValuesFirstAndPreemptsHighValues() throws {
        let s = try makeScheduler(maxNumSeqs: 2, policy: .priority)
        try s.add(request("low", [1], priority: 5))
        try s.add(request("high", [2], priority: 0))
        try s.add(request("mid", [3], priority: 1))
        let (out, _) = step(s)
        #expect(out.scheduled.map(\.requestID) == ["high", "mid"])

        // Memory pressure: the running request with the largest priority value goes, even
        // when it was already scheduled earlier in the same step.
        let p = try makeScheduler(budget: 64, blockSize: 2, numBlocks: 4, policy: .priority)
        let x = request("x", [1, 2], maxTokens: 5, priority: 9)
        let y = request("y", [4, 5, 6, 7], maxTokens: 5, priority: 0)
        try p.add(x)
        _ = step(p, token: 3)          // x: 1 block, 3 tokens
        try p.add(y)
        _ = step(p, token: 3)          // x: 2 blocks; y: 2 blocks; pool full
        let out2 = p.schedule()        // x fits in its block, then y needs a new one
        #expect(out2.preemptedRequestIDs == ["x"] && out2.scheduled.map(\.requestID) == ["y"])
        #expect(out2.totalNumScheduledTokens == 1 && x.numComputedTokens == 0 && x.status == .preempted)
        // x's second block was cached when x was scheduled, but x never wrote its last slot:
        // it must have left the prefix cache (x's first block and y's two full ones remain).
        #expect(p.kvCacheManager.pool.numCachedBlocks == 3)
    }

    @Test func statsTrackUsagePeakAndWaste() throws {
        let s = try makeScheduler(blockSize: 4, numBlocks: 10, caching: false)
        try s.add(request("a", Array(0..<6), maxTokens: 2))
        _ = step(s)
        var st = s.stats
        #expect(st.numRunning == 1 && st.kvBlocksUsed == 2 && st.kvBlocksFree == 8 && st.peakKVBlocksUsed == 2)
        #expect(abs(st.lastStepKVWaste - 2.0 / 8) < 1e-12 && abs(st.kvWaste - 2.0 / 8) < 1e-12)
        _ = step(s)  // 7 tokens in 8 slots, then a finishes
        st = s.stats
        #expect(abs(st.lastStepKVWaste - 1.0 / 8) < 1e-12 && abs(st.kvWaste - 3.0 / 16) < 1e-12)
        #expect(st.kvBlocksUsed == 0 && st.peakKVBlocksUsed == 2 && st.kvUsage == 0)
    }
}
