import Testing
@testable import VLLMEngine

@Suite struct KVCacheManagerTests {
    /// Schedules all of a new request's tokens the way the scheduler does.
    @discardableResult
    func admit(_ m: KVCacheManager, _ r: Request) -> Bool {
        let (hits, cached, _) = m.computedBlocks(for: r)
        guard m.allocateSlots(r, numNewTokens: r.numTokens - cached, newComputedBlocks: hits) != nil else { return false }
        r.numComputedTokens = r.numTokens
        return true
    }

    @Test func sharedPrefixReusesTheSameBlocksAndCountsHits() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 16, enableCaching: true)
        let prefix = Array(100..<112)  // 3 full blocks
        let a = Request(requestID: "a", promptTokenIDs: prefix + [1, 2])
        let b = Request(requestID: "b", promptTokenIDs: prefix + [3, 4, 5])
        #expect(admit(m, a))
        #expect(m.pool.prefixCacheQueries == 14 && m.pool.prefixCacheHits == 0)
        let (hits, n, _) = m.computedBlocks(for: b)
        #expect(n == 12 && hits[0].map { $0!.blockID } == Array(m.blockIDs("a")[0..<3]))
        #expect(m.pool.prefixCacheQueries == 29 && m.pool.prefixCacheHits == 12)
        let before = m.numFreeBlocks
        let added = m.allocateSlots(b, numNewTokens: 3, newComputedBlocks: hits)
        #expect(added?.count == 4 && m.numFreeBlocks == before - 1)
        #expect(Array(m.blockIDs("b")[0..<3]) == Array(m.blockIDs("a")[0..<3]))
        #expect(m.blockIDs("b")[3] != m.blockIDs("a")[3])
        #expect(m.blocks("a")[0].refCount == 2 && m.blocks("a")[3].refCount == 1)
        // Different extra keys never share.
        let c = Request(requestID: "c", promptTokenIDs: prefix + [9], blockHashExtraKey: "lora")
        #expect(m.computedBlocks(for: c).numComputedTokens == 0)
    }

    @Test func freedBlocksStayCachedUntilEvictedAndTheTailGoesFirst() {
        let m = KVCacheManager(blockSize: 2, numBlocks: 4, enableCaching: true)
        let a = Request(requestID: "a", promptTokenIDs: [1, 2, 3, 4, 5, 6, 7])
        #expect(admit(m, a))
        let ids = m.blockIDs("a")
        m.free(a)
        #expect(m.numFreeBlocks == 4)
        // Freed in reverse: the partial tail block is evicted first, then the last full one.
        #expect(m.pool.freeQueue.blocks.map(\.blockID) == ids.reversed())
        let b = Request(requestID: "b", promptTokenIDs: [1, 2, 3, 4, 5, 6, 9])
        #expect(m.computedBlocks(for: b).numComputedTokens == 6)
    }

    @Test func neverServesTheLastPromptTokenFromTheCache() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 8, enableCaching: true)
        let prompt = Array(0..<8)  // exactly 2 full blocks
        #expect(admit(m, Request(requestID: "a", promptTokenIDs: prompt)))
        let (hits, n, _) = m.computedBlocks(for: Request(requestID: "b", promptTokenIDs: prompt))
        #expect(n == 4 && hits[0].count == 1)  // the second block holds the last token: recomputed
        let (hits1, n1, _) = m.computedBlocks(for: Request(requestID: "c", promptTokenIDs: prompt + [8]))
        #expect(n1 == 8 && hits1[0].count == 2)
        #expect(m.computedBlocks(for: Request(requestID: "d", promptTokenIDs: [0, 1, 2, 3])).numComputedTokens == 0)
    }

    @Test func allocationFailureChangesNothing() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 5, enableCaching: true)
        let a = Request(requestID: "a", promptTokenIDs: Array(0..<12))
        #expect(admit(m, a))
        m.free(a)  // 3 cached free blocks
        let b = Request(requestID: "b", promptTokenIDs: Array(50..<58))
        #expect(admit(m, b))  // takes the 2 never-used blocks at the head
        let c = Request(requestID: "c", promptTokenIDs: Array(0..<8) + Array(200..<220))
        let (hits, n, _) = m.computedBlocks(for: c)
        #expect(n > 0)
        let snapshot = (m.pool.blocks.map(\.refCount), m.pool.blocks.map(\.blockHash),
                        m.pool.freeQueue.blocks.map(\.blockID), m.pool.numCachedBlocks, m.blockIDs("b"))
        #expect(m.allocateSlots(c, numNewTokens: c.numTokens - n, newComputedBlocks: hits) == nil)
        #expect(m.blockIDs("c").isEmpty)
        #expect(m.pool.blocks.map(\.refCount) == snapshot.0 && m.pool.blocks.map(\.blockHash) == snapshot.1)
        #expect(m.pool.freeQueue.blocks.map(\.blockID) == snapshot.2 && m.pool.numCachedBlocks == snapshot.3)
        #expect(m.blockIDs("b") == snapshot.4 && m.takePendingCopies().isEmpty)
        // A running request that can't grow is unchanged too.
        b.numComputedTokens = 8
        #expect(m.allocateSlots(b, numNewTokens: 13) == nil && m.blockIDs("b") == snapshot.4)
    }

    @Test func onDemandAllocationAndWaste() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 8, enableCaching: false)
        #expect(m.kvWaste == 0 && m.allocatedSlots == 0)
        let a = Request(requestID: "a", promptTokenIDs: Array(0..<10))
        #expect(m.allocateSlots(a, numNewTokens: 5)?.count == 2)  // chunk of 5: 2 blocks
        a.numComputedTokens = 5
        #expect(m.allocatedSlots == 8 && m.usedSlots == 5)
        #expect(m.allocateSlots(a, numNewTokens: 3)?.count == 0)
        a.numComputedTokens = 8
        #expect(m.allocateSlots(a, numNewTokens: 2)?.count == 1)
        #expect(m.allocatedSlots == 12 && m.usedSlots == 10)
        #expect(abs(m.kvWaste - (1 - 10.0 / 12)) < 1e-12)
    }

    @Test func forkSharesBlocksAndCopiesOnWrite() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 10, enableCaching: true)
        let parent = Request(requestID: "p", promptTokenIDs: Array(0..<6))
        #expect(admit(m, parent))  // blocks: [full 0-3][partial 4-5]
        let child = Request(requestID: "c", promptTokenIDs: Array(0..<6))
        m.fork(parent: parent, child: child)
        #expect(child.numComputedTokens == 6 && m.blockIDs("c") == m.blockIDs("p"))
        let shared = m.blocks("p")
        #expect(shared.allSatisfy { $0.refCount == 2 })
        #expect(m.allocatedSlots == 8 && m.usedSlots == 6)  // shared blocks count once

        // The child writes token 6 into the shared partial block: it gets a private copy.
        child.appendOutputToken(42)
        let added = m.allocateSlots(child, numNewTokens: 1)
        #expect(added?.count == 1)
        let copyID = m.blockIDs("c")[1]
        #expect(copyID != shared[1].blockID && m.blockIDs("c")[0] == shared[0].blockID)
        #expect(m.takePendingCopies() == [BlockCopy(src: shared[1].blockID, dst: copyID)])
        #expect(m.takePendingCopies().isEmpty)
        #expect(shared[1].refCount == 1 && shared[0].refCount == 2)
        child.numComputedTokens = 7

        // The parent now owns its partial block alone and writes in place.
        parent.appendOutputToken(7)
        #expect(m.allocateSlots(parent, numNewTokens: 1)?.count == 0)
        #expect(m.takePendingCopies().isEmpty && m.blockIDs("p") == shared.map(\.blockID))
        parent.numComputedTokens = 7

        // Filling the child's block past the boundary never writes the shared full block.
        child.appendOutputToken(43)
        child.appendOutputToken(44)
        #expect(m.allocateSlots(child, numNewTokens: 2)?.count == 1)
        #expect(m.takePendingCopies().isEmpty && shared[0].refCount == 2)

        m.free(child)
        m.free(parent)
        #expect(m.numFreeBlocks == 10 && m.pool.blocks.allSatisfy { $0.refCount == 0 })
    }

    @Test func forkAtABlockBoundaryNeedsNoCopy() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 6, enableCaching: false)
        let parent = Request(requestID: "p", promptTokenIDs: Array(0..<8))
        #expect(admit(m, parent))
        let child = Request(requestID: "c", promptTokenIDs: Array(0..<8) + [1])
        m.fork(parent: parent, child: child)
        #expect(m.allocateSlots(child, numNewTokens: 1)?.count == 1)
        #expect(m.takePendingCopies().isEmpty && m.blocks("p").allSatisfy { $0.refCount == 2 })
    }

    @Test func freeingAForkedRequestBeforeItsStepDropsItsCopy() {
        let m = KVCacheManager(blockSize: 4, numBlocks: 6, enableCaching: false)
        let parent = Request(requestID: "p", promptTokenIDs: [1, 2])
        #expect(admit(m, parent))
        let child = Request(requestID: "c", promptTokenIDs: [1, 2, 3])
        m.fork(parent: parent, child: child)
        #expect(m.allocateSlots(child, numNewTokens: 1) != nil)
        m.free(child)
        #expect(m.takePendingCopies().isEmpty)
    }
}
