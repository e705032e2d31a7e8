import Testing
@testable import VLLMEngine

/// Beam search's scheduler support: finished requests that keep their blocks, and forks that
/// share them with copy-on-write.
extension SchedulerTests {
    @Test func forkedRequestsShareBlocksAndCopyTheSharedPartialBlock() throws {
        let s = try makeScheduler(blockSize: 4, numBlocks: 16)
        let parent = request("p", Array(1...6), maxTokens: 1)  // 6 tokens: a full block and a partial one
        parent.keepsBlocksWhenFinished = true
        try s.add(parent)
        _ = step(s)
        #expect(s.request("p") == nil)  // finished...
        let parentBlocks = s.kvCacheManager.blockIDs("p")
        #expect(parentBlocks.count == 2)  // ...but its blocks are kept
        let a = request("a", Array(1...6) + [40], maxTokens: 1), b = request("b", Array(1...6) + [41], maxTokens: 1)
        try s.fork(a, from: "p")
        try s.fork(b, from: "p")
        #expect(s.kvCacheManager.blockIDs("a") == parentBlocks)
        s.release(["p"])
        let (out, _) = step(s)
        // Each child computes only its own last token; the partial block is copied for the
        // first child that writes into it while still shared.
        #expect(out.scheduled.map(\.numTokens) == [1, 1])
        #expect(out.scheduled.allSatisfy { $0.startPosition == 6 })
        #expect(out.blockCopies.count == 1 && out.blockCopies[0].src == parentBlocks[1])
        #expect(out.scheduled.allSatisfy { $0.blockIDs[0] == parentBlocks[0] })
        #expect(out.scheduled[0].blockIDs[1] != out.scheduled[1].blockIDs[1])
        #expect(s.kvCacheManager.numFreeBlocks == 16)  // a and b finished: everything is back
    }

    @Test func forkNeedsAKeptParentThatItContinues() throws {
        let s = try makeScheduler()
        let parent = request("p", [1, 2, 3], maxTokens: 1)
        parent.keepsBlocksWhenFinished = true
        try s.add(parent)
        #expect(throws: SchedulerError.self) { try s.fork(request("c", [1, 2, 3, 4]), from: "p") }  // still running
        _ = step(s)
        #expect(throws: SchedulerError.self) { try s.fork(request("c", [9, 2, 3, 4]), from: "p") }
        #expect(throws: SchedulerError.self) { try s.fork(request("c", [1, 2, 3, 4]), from: "nobody") }
        s.abort(["p"])  // abort releases kept blocks too
        #expect(s.kvCacheManager.numFreeBlocks == 64)
    }
}
