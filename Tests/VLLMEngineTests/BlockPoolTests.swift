import Testing
@testable import VLLMEngine

@Suite struct BlockPoolTests {
    @Test func freeQueueKeepsOrderAndRemovesFromTheMiddle() {
        let blocks = (0..<5).map { KVCacheBlock(blockID: $0) }
        var q = FreeKVCacheBlockQueue(blocks)
        #expect(q.blocks.map(\.blockID) == [0, 1, 2, 3, 4])
        q.remove(blocks[2])
        q.remove(blocks[0])
        q.remove(blocks[4])
        #expect(q.blocks.map(\.blockID) == [1, 3] && q.count == 2)
        q.append(blocks[0])
        #expect(q.popFront()?.blockID == 1)
        #expect(q.blocks.map(\.blockID) == [3, 0])
        #expect(q.popFront()?.blockID == 3 && q.popFront()?.blockID == 0)
        #expect(q.popFront() == nil && q.isEmpty)
        q.append(blocks[4])
        #expect(q.blocks.map(\.blockID) == [4])
    }

    @Test func allBlocksUsableAndFreedBlocksAreReusedLeastRecentlyFreedFirst() {
        let pool = BlockPool(numBlocks: 4, enableCaching: true)
        let got = pool.getNewBlocks(4)
        #expect(got.map(\.blockID) == [0, 1, 2, 3])  // block 0 is an ordinary block
        #expect(pool.numFreeBlocks == 0 && pool.usage == 1)
        pool.freeBlocks([got[2], got[0]])
        pool.freeBlocks([got[3]])
        #expect(pool.freeQueue.blocks.map(\.blockID) == [2, 0, 3])
        #expect(pool.getNewBlocks(2).map(\.blockID) == [2, 0])
        #expect(pool.usage == 0.75)
    }

    @Test func touchRevivesAFreeBlockAndRefCountsAccumulate() {
        let pool = BlockPool(numBlocks: 3, enableCaching: true)
        let b = pool.getNewBlocks(2)
        pool.touch([b[0]])  // from the middle
        #expect(b[0].refCount == 2)
        pool.freeBlocks([b[0]])
        #expect(b[0].refCount == 1 && pool.numFreeBlocks == 1)
        pool.freeBlocks([b[0], b[1]])
        #expect(pool.numFreeBlocks == 3 && pool.freeQueue.blocks.map(\.blockID) == [2, 0, 1])
        pool.touch([b[1]])  // from the tail
        pool.touch([b[0]])  // from the middle
        #expect(pool.freeQueue.blocks.map(\.blockID) == [2] && b[0].refCount == 1 && b[1].refCount == 1)
    }

    @Test func evictingACachedBlockDropsItsHash() {
        let pool = BlockPool(numBlocks: 2, enableCaching: true)
        let b = pool.getNewBlocks(2)
        let h0 = BlockHash(parent: nil, tokenIDs: [1, 2])
        let h1 = BlockHash(parent: h0, tokenIDs: [3, 4])
        pool.cacheFullBlocks(b[...], hashes: [h0, h1])
        #expect(pool.getCachedBlock(h0) === b[0] && pool.getCachedBlock(h1) === b[1])
        pool.freeBlocks(Array(b.reversed()))
        // Free but still cached: a hit can revive it.
        #expect(pool.getCachedBlock(h1) === b[1] && pool.numCachedBlocks == 2)
        let reused = pool.getNewBlocks(1)[0]  // the head: b[1], freed first
        #expect(reused === b[1] && reused.blockHash == nil)
        #expect(pool.getCachedBlock(h1) == nil && pool.getCachedBlock(h0) === b[0])
        #expect(pool.numCachedBlocks == 1)
    }

    @Test func aSecondBlockWithTheSameHashStaysUncached() {
        let pool = BlockPool(numBlocks: 2, enableCaching: true)
        let b = pool.getNewBlocks(2)
        let h = BlockHash(parent: nil, tokenIDs: [7])
        pool.cacheFullBlocks(b[0..<1], hashes: [h])
        pool.cacheFullBlocks(b[1..<2], hashes: [h])
        #expect(pool.getCachedBlock(h) === b[0] && b[1].blockHash == nil)
        pool.freeBlocks([b[1], b[0]])
        _ = pool.getNewBlocks(1)  // evicts b[1], which must not drop b[0]'s entry
        #expect(pool.getCachedBlock(h) === b[0])
    }

    @Test func cachingDisabledNeverHits() {
        let pool = BlockPool(numBlocks: 1, enableCaching: false)
        let b = pool.getNewBlocks(1)
        let h = BlockHash(parent: nil, tokenIDs: [1])
        pool.cacheFullBlocks(b[...], hashes: [h])
        #expect(pool.getCachedBlock(h) == nil && b[0].blockHash == nil)
    }

    @Test func blockHashIsDeterministicChainedAndKeyed() {
        let a = BlockHash(parent: nil, tokenIDs: [1, 2, 3])
        #expect(a == BlockHash(parent: nil, tokenIDs: [1, 2, 3]))
        // A fixed value: the hash must not change between processes or releases silently.
        #expect(a.description == "26e4cf1e7b58485c3861c89cd8454f3a")
        #expect(a != BlockHash(parent: nil, tokenIDs: [1, 2, 4]))
        #expect(a != BlockHash(parent: nil, tokenIDs: [1, 2, 3], extraKey: "lora-a"))
        #expect(BlockHash(parent: nil, tokenIDs: [1], extraKey: "a") != BlockHash(parent: nil, tokenIDs: [1], extraKey: "b"))
        #expect(BlockHash(parent: a, tokenIDs: [4]) != BlockHash(parent: nil, tokenIDs: [4]))
        #expect(BlockHash(parent: BlockHash(high: 0, low: 0), tokenIDs: [4]) != BlockHash(parent: nil, tokenIDs: [4]))
        #expect(BlockHash(parent: nil, tokenIDs: [0]) != BlockHash(parent: nil, tokenIDs: [0, 0]))
        // No collisions among many small, similar inputs, in either lane alone.
        var highs = Set<UInt64>(), lows = Set<UInt64>()
        var parent: BlockHash?
        for i in 0..<20_000 {
            let h = BlockHash(parent: i % 2 == 0 ? parent : nil, tokenIDs: [i / 2, i % 7])
            highs.insert(h.high)
            lows.insert(h.low)
            parent = h
        }
        #expect(highs.count == 20_000 && lows.count == 20_000)
    }
}
