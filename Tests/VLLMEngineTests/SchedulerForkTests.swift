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

    @Test func siblingsForkThePromptOnceWithoutPrefixCaching() throws {
        let s = try makeScheduler(blockSize: 4, numBlocks: 16, caching: false)
        let prompt = Array(1...10)  // blocks: 0-3, 4-7, 8-9 (partial)
        try s.add(request("lead", prompt, maxTokens: 3))
        try s.addSibling(request("s1", prompt, maxTokens: 3), of: "lead")
        try s.addSibling(request("s2", prompt, maxTokens: 3), of: "lead")
        #expect(s.numWaiting == 3)
        let (first, _) = step(s)
        #expect(first.scheduled.map(\.requestID) == ["lead"] && first.scheduled[0].numTokens == 10)
        let leadBlocks = s.kvCacheManager.blockIDs("lead")
        // The siblings took the leader's three prompt blocks after its first token.
        #expect(s.kvCacheManager.blockIDs("s1") == leadBlocks && s.kvCacheManager.numFreeBlocks == 13)
        let (second, _) = step(s)
        // The leader writes position 10 and each sibling position 9, all into the shared third
        // block: the first two writers copy it, the last one keeps it.
        #expect(second.scheduled.map(\.requestID) == ["lead", "s1", "s2"])
        #expect(second.scheduled.map(\.startPosition) == [10, 9, 9] && second.totalNumScheduledTokens == 3)
        #expect(second.blockCopies.count == 2 && second.blockCopies.allSatisfy { $0.src == leadBlocks[2] })
        #expect(second.scheduled.allSatisfy { Array($0.blockIDs.prefix(2)) == Array(leadBlocks.prefix(2)) })
        #expect(s.kvCacheManager.numFreeBlocks == 16 - 5)
        while s.hasUnfinishedRequests { _ = step(s) }
        #expect(s.kvCacheManager.numFreeBlocks == 16)
    }

    @Test func siblingsOfAnAbortedLeaderRunOnTheirOwn() throws {
        let s = try makeScheduler(blockSize: 4, numBlocks: 16)
        try s.add(request("lead", Array(1...6), maxTokens: 2))
        try s.addSibling(request("s1", Array(1...6), maxTokens: 2), of: "lead")
        #expect(throws: SchedulerError.self) { try s.addSibling(request("x", [9, 9]), of: "lead") }
        s.abort(["lead"])
        let (out, _) = step(s)
        #expect(out.scheduled.map(\.requestID) == ["s1"] && out.scheduled[0].numTokens == 6)
        s.abort(["s1"])
        #expect(!s.hasUnfinishedRequests && s.kvCacheManager.numFreeBlocks == 16)
        // An awaiting sibling can be aborted too.
        try s.add(request("l2", Array(1...6)))
        try s.addSibling(request("s2", Array(1...6)), of: "l2")
        s.abort(["s2"])
        #expect(s.numWaiting == 1)
    }
}
