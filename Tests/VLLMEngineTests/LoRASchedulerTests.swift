import Testing
import VLLMTestSupport
@testable import VLLMEngine

/// `--max-loras` admission, adapter-keyed prefix caching and KV blocks set aside for adapters:
/// pure bookkeeping, no model.
@Suite struct LoRASchedulerTests {
    func scheduler(maxLoras: Int?, numBlocks: Int = 256) throws -> Scheduler {
        try Scheduler(config: SchedulerConfig(maxNumBatchedTokens: 4096, maxModelLen: 256, blockSize: 4, maxLoras: maxLoras),
                      numBlocks: numBlocks)
    }

    func request(_ id: String, lora: Int?, prompt: [Int] = Array(0..<12), maxTokens: Int = 5) -> Request {
        Request(requestID: id, promptTokenIDs: prompt, samplingParams: SamplingParams(maxTokens: maxTokens, ignoreEOS: true),
                loraID: lora)
    }

    @Test(arguments: [1, 2, 3])
    func neverMoreThanMaxLorasAdaptersRunAndAllFinish(maxLoras: Int) throws {
        let s = try scheduler(maxLoras: maxLoras)
        var rng = SeededGenerator(seed: UInt64(maxLoras))
        for i in 0..<40 { try s.add(request("r\(i)", lora: rng.next() % 5 == 0 ? nil : Int(rng.next() % 4) + 1, maxTokens: 1 + Int(rng.next() % 6))) }
        var finished = 0, steps = 0
        while s.hasUnfinishedRequests {
            let out = s.schedule()
            let active = Set(s.running.compactMap(\.loraID))
            #expect(active.count <= maxLoras)
            #expect(Set(out.scheduled.compactMap(\.loraID)).count <= maxLoras)
            let sampled = Dictionary(uniqueKeysWithValues: out.scheduled.filter(\.samplesAfterStep).map { ($0.requestID, 7) })
            finished += s.update(output: out, sampled: sampled).filter(\.isFinished).count
            steps += 1
            #expect(steps < 1000)
        }
        #expect(finished == 40)
        #expect(s.kvCacheManager.numFreeBlocks == 256)
    }

    @Test func baseRequestsAreNeverHeldBackByTheLimit() throws {
        let s = try scheduler(maxLoras: 1)
        try s.add(request("a", lora: 1))
        try s.add(request("b", lora: 2))
        try s.add(request("c", lora: nil))
        let out = s.schedule()
        #expect(out.scheduled.map(\.requestID) == ["a", "c"])
        #expect(s.waiting.map(\.requestID) == ["b"])
    }

    @Test func twoAdaptersNeverShareCachedBlocks() throws {
        let s = try scheduler(maxLoras: 4)
        let prompt = Array(0..<17)
        for (id, lora) in [("a", 1), ("b", 2), ("c", nil), ("d", 1)] as [(String, Int?)] {
            try s.add(request(id, lora: lora, prompt: prompt, maxTokens: 1))
            let out = s.schedule()
            _ = s.update(output: out, sampled: [id: 3])
        }
        // Only "d" (same adapter as "a") found cached blocks: 4 full blocks of 4 tokens.
        #expect(s.stats.prefixCacheHits == 16)
        #expect(Request(requestID: "x", promptTokenIDs: [1], loraID: 1).blockHashExtraKey
                != Request(requestID: "y", promptTokenIDs: [1], loraID: 2).blockHashExtraKey)
    }

    @Test func reservedBlocksLeaveThePoolAndComeBack() throws {
        let s = try scheduler(maxLoras: 1, numBlocks: 10)
        let pool = s.kvCacheManager.pool
        let taken = try #require(pool.reserveBlocks(7))
        #expect(pool.numFreeBlocks == 3 && pool.numKVBlocks == 3 && pool.numReservedBlocks == 7)
        #expect(pool.reserveBlocks(4) == nil && pool.numFreeBlocks == 3)
        // A request needing more blocks than remain for KV is refused, not left waiting forever.
        #expect(throws: SchedulerError.self) { try s.add(request("big", lora: nil, prompt: Array(0..<16), maxTokens: 1)) }
        #expect(s.kvCacheManager.kvWaste == 0)
        pool.releaseReserved(taken)
        #expect(pool.numFreeBlocks == 10 && pool.numKVBlocks == 10)
        try s.add(request("big", lora: nil, prompt: Array(0..<16), maxTokens: 1))
    }
}
