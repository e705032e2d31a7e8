/// Every physical KV block, the free queue that is also the prefix cache's LRU, and the map
/// from content hash to cached block.
///
/// All blocks exist from the start; block 0 is an ordinary block. A block is in exactly one
/// of two states: held (`refCount > 0`, not in the free queue) or free (`refCount == 0`, in
/// the free queue). A free block may still carry a hash: its contents stay reusable until the
/// block is handed out again, which is when it is evicted from the hash map.
public final class BlockPool {
    public let blocks: [KVCacheBlock]
    public let enableCaching: Bool
    public private(set) var freeQueue: FreeKVCacheBlockQueue
    /// One block per content hash. When two requests fill identical blocks before either is
    /// cached, the second simply stays unhashed (it is never looked up, and is evicted as an
    /// ordinary block).
    private var cached: [BlockHash: KVCacheBlock] = [:]

    /// Prompt tokens looked up in the prefix cache, and how many of them hit (vLLM's
    /// `PrefixCacheStats` counts tokens, not blocks).
    public internal(set) var prefixCacheQueries = 0
    public internal(set) var prefixCacheHits = 0
    /// Filled slots summed over held blocks (each physical block once).
    public private(set) var numFilledSlotsHeld = 0
    /// Blocks set aside for other uses (LoRA adapter weights, S-LoRA's unified pool): held,
    /// never in a block table, not counted as KV waste.
    public private(set) var numReservedBlocks = 0
    /// The second KV tier, written through with every block that is cached here; nil: none.
    public let offloading: KVOffloadingManager?

    public init(numBlocks: Int, enableCaching: Bool, offloading: KVOffloadingManager? = nil) {
        precondition(numBlocks > 0, "a block pool needs at least one block")
        self.offloading = enableCaching ? offloading : nil
        blocks = (0..<numBlocks).map { KVCacheBlock(blockID: $0) }
        freeQueue = FreeKVCacheBlockQueue(blocks)
        self.enableCaching = enableCaching
    }

    public var numBlocks: Int { blocks.count }
    public var numFreeBlocks: Int { freeQueue.count }
    /// Blocks in the hash map (held or free).
    public var numCachedBlocks: Int { cached.count }
    /// Fraction of blocks held by requests; free blocks with cached contents count as unused
    /// because they can be reclaimed at any time.
    public var usage: Double { Double(numBlocks - numFreeBlocks) / Double(numBlocks) }

    /// Takes `n` blocks from the head of the free queue, each with `refCount` 1. A block that
    /// still holds cached contents is evicted from the hash map first (the offloading tier,
    /// which was written through, counts that as a use).
    public func getNewBlocks(_ n: Int) -> [KVCacheBlock] {
        precondition(n <= numFreeBlocks, "asked for \(n) blocks with \(numFreeBlocks) free")
        var out: [KVCacheBlock] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let block = freeQueue.popFront()!
            if let hash = block.blockHash { offloading?.touch(hash) }
            evict(block)
            block.refCount = 1
            block.numFilledSlots = 0
            out.append(block)
        }
        return out
    }

    /// Takes `n` free blocks out of the pool for a non-KV use (evicting cached contents as
    /// `getNewBlocks` does); nil, with nothing taken, when fewer are free.
    public func reserveBlocks(_ n: Int) -> [KVCacheBlock]? {
        guard n <= numFreeBlocks else { return nil }
        numReservedBlocks += n
        return getNewBlocks(n)
    }

    /// Returns blocks taken by `reserveBlocks` to the free queue.
    public func releaseReserved(_ blocks: [KVCacheBlock]) {
        numReservedBlocks -= blocks.count
        freeBlocks(blocks)
    }

    /// Blocks KV may use: all but the reserved ones.
    public var numKVBlocks: Int { numBlocks - numReservedBlocks }

    /// Adds a reference to each block (prefix-cache hits, forks); a block that was free leaves
    /// the free queue and so can no longer be evicted.
    public func touch(_ blocks: [KVCacheBlock]) {
        for block in blocks {
            if block.refCount == 0 {
                freeQueue.remove(block)
                numFilledSlotsHeld += block.numFilledSlots
            }
            block.refCount += 1
        }
    }

    /// Drops one reference from each block; blocks reaching 0 join the free-queue tail in the
    /// given order, so pass the block a caller wants evicted first before the others.
    public func freeBlocks(_ ordered: [KVCacheBlock]) {
        for block in ordered {
            precondition(block.refCount > 0, "block \(block.blockID) freed more often than held")
            block.refCount -= 1
            if block.refCount == 0 {
                freeQueue.append(block)
                numFilledSlotsHeld -= block.numFilledSlots
            }
        }
    }

    /// Records that a held block now has `n` slots filled (it only grows until reallocated).
    public func markFilled(_ block: KVCacheBlock, slots n: Int) {
        precondition(block.refCount > 0, "block \(block.blockID) is not held")
        guard n > block.numFilledSlots else { return }
        numFilledSlotsHeld += n - block.numFilledSlots
        block.numFilledSlots = n
    }

    /// Registers full blocks under their content hashes so later requests can reuse them, and
    /// offers them to the offloading tier. `blocks[i]` must hold the tokens hashed into
    /// `hashes[i]`, written by the end of the step being scheduled. Blocks already hashed are
    /// skipped; a hash already owned by another block leaves this block unhashed.
    public func cacheFullBlocks(_ blocks: ArraySlice<KVCacheBlock>, hashes: ArraySlice<BlockHash>) {
        guard enableCaching else { return }
        precondition(blocks.count == hashes.count, "one hash per block")
        for (block, hash) in zip(blocks, hashes) where block.blockHash == nil {
            guard cached[hash] == nil else { continue }
            block.blockHash = hash
            cached[hash] = block
            offloading?.offload(hash, fromBlock: block.blockID)
        }
    }

    /// The block holding contents with this hash, if still cached (held or free).
    public func getCachedBlock(_ hash: BlockHash) -> KVCacheBlock? {
        enableCaching ? cached[hash] : nil
    }

    /// Copies every cached block's KV that the offloading tier lacks (a store dropped while
    /// every slot was pinned, or evicted from the tier first) into it, least recently used
    /// first (free blocks in eviction order, then held ones), as a persistent tier does before
    /// the engine stops. Only between steps, when every cached block's KV is written.
    public func offloadCachedBlocks() {
        guard let offloading else { return }
        let free = freeQueue.blocks
        let freeIDs = Set(free.map(\.blockID))
        let held = blocks.filter { $0.blockHash != nil && !freeIDs.contains($0.blockID) }
        for block in free + held {
            guard let hash = block.blockHash, cached[hash] === block, !offloading.contains(hash) else { continue }
            offloading.offload(hash, fromBlock: block.blockID)
        }
    }

    /// Forgets every cached hash, the offloading tier's too (e.g. after weights change). Held
    /// blocks stay held.
    public func resetPrefixCache() {
        offloading?.reset()
        for block in cached.values { block.blockHash = nil }
        cached.removeAll()
    }

    /// Removes the block from the hash map because its KV will not be written after all; a
    /// store of it to the offloading tier that has not been handed out is withdrawn.
    func invalidate(_ block: KVCacheBlock) {
        if let hash = block.blockHash { offloading?.cancelStore(hash, fromBlock: block.blockID) }
        evict(block)
    }

    /// Removes the block from the hash map (its contents are about to change or are invalid).
    func evict(_ block: KVCacheBlock) {
        guard let hash = block.blockHash else { return }
        if cached[hash] === block { cached.removeValue(forKey: hash) }
        block.blockHash = nil
    }
}
