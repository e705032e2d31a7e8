/// A pending KV copy from one block to another, for a copy-on-write split: the model runner
/// copies every layer's rows of block `src` into block `dst` before running the step.
public struct BlockCopy: Sendable, Hashable {
    public let src: Int
    public let dst: Int

    public init(src: Int, dst: Int) {
        self.src = src
        self.dst = dst
    }
}

/// Each request's block table over a shared `BlockPool`: prefix-cache lookup, on-demand block
/// allocation, copy-on-write for forked sequences, and freeing (vLLM's `KVCacheManager`).
///
/// Blocks are allocated only to hold the tokens computed so far plus those scheduled in the
/// current step, so a table has `ceil(tokens / blockSize)` blocks and waste is limited to the
/// unfilled tail of each last block.
public final class KVCacheManager {
    public let blockSize: Int
    public let pool: BlockPool

    private struct Entry {
        var blocks: [KVCacheBlock] = []
        /// Leading blocks already offered to the prefix cache.
        var numCachedBlocks = 0
    }

    private var entries: [String: Entry] = [:]
    private var pendingCopies: [BlockCopy] = []

    public init(blockSize: Int, numBlocks: Int, enableCaching: Bool) {
        precondition(blockSize > 0, "block size must be positive")
        self.blockSize = blockSize
        pool = BlockPool(numBlocks: numBlocks, enableCaching: enableCaching)
    }

    public var enableCaching: Bool { pool.enableCaching }
    public var numFreeBlocks: Int { pool.numFreeBlocks }
    public var usage: Double { pool.usage }

    /// The longest run of leading full blocks of `request`'s tokens already in the prefix
    /// cache, and the tokens they cover. The last known token is never served from the cache,
    /// even when it ends a full block: it must run through the model to give logits to sample
    /// from. Counts the request's tokens as queries and the covered tokens as hits (each call
    /// counts, so a request that waits and retries is counted again, as in vLLM).
    public func computedBlocks(for request: Request) -> (blocks: [KVCacheBlock], numComputedTokens: Int) {
        guard enableCaching else { return ([], 0) }
        let maxBlocks = (request.numTokens - 1) / blockSize
        var hits: [KVCacheBlock] = []
        for hash in request.fullBlockHashes(blockSize: blockSize, count: maxBlocks) {
            guard let block = pool.getCachedBlock(hash) else { break }
            hits.append(block)
        }
        pool.prefixCacheQueries += request.numTokens
        pool.prefixCacheHits += hits.count * blockSize
        return (hits, hits.count * blockSize)
    }

    /// Makes room for `numNewTokens` more tokens of `request` after its computed ones, first
    /// appending `newComputedBlocks` (prefix-cache hits from `computedBlocks(for:)`, for a
    /// request that holds no blocks yet). Returns the blocks newly added to the table, or nil
    /// when the pool can't supply them, in which case nothing has changed.
    ///
    /// A partially filled block shared with another table (after `fork`) that would receive
    /// new tokens is first replaced by a private copy (see `takePendingCopies`). Full blocks
    /// that now hold known tokens are offered to the prefix cache.
    public func allocateSlots(_ request: Request, numNewTokens: Int,
                              newComputedBlocks: [KVCacheBlock] = []) -> [KVCacheBlock]? {
        precondition(numNewTokens >= 0, "negative token count")
        var entry = entries[request.requestID] ?? Entry()
        precondition(newComputedBlocks.isEmpty || entry.blocks.isEmpty,
                     "prefix-cache hits can only start a block table")
        let numComputed = request.numComputedTokens + newComputedBlocks.count * blockSize
        let numTotal = numComputed + numNewTokens
        let numRequired = (numTotal + blockSize - 1) / blockSize
        let numHeld = entry.blocks.count + newComputedBlocks.count

        // Held blocks that this step writes into (from the one holding the first new token)
        // must be private; a shared one gets a fresh copy.
        // (Prefix-cache hits are full blocks below `numComputed`, so only held ones qualify.)
        var cowIndices: [Int] = []
        let firstWritten = numComputed / blockSize, pastHeld = min(numRequired, entry.blocks.count)
        if numNewTokens > 0 && firstWritten < pastHeld {
            for i in firstWritten ..< pastHeld where entry.blocks[i].refCount > 1 {
                cowIndices.append(i)
            }
        }
        // Free cached blocks revived by a hit leave the free queue, so they count against it.
        let numRevived = newComputedBlocks.count(where: { $0.refCount == 0 })
        let numFresh = max(0, numRequired - numHeld) + cowIndices.count
        guard numFresh + numRevived <= pool.numFreeBlocks else { return nil }

        // Touch the hits before taking fresh blocks so they can't be evicted by this call.
        pool.touch(newComputedBlocks)
        entry.blocks += newComputedBlocks
        var added = newComputedBlocks
        for i in cowIndices {
            let shared = entry.blocks[i]
            let copy = pool.getNewBlocks(1)[0]
            pendingCopies.append(BlockCopy(src: shared.blockID, dst: copy.blockID))
            entry.blocks[i] = copy
            pool.freeBlocks([shared])
            added.append(copy)
        }
        let fresh = pool.getNewBlocks(max(0, numRequired - numHeld))
        entry.blocks += fresh
        added += fresh
        // Waste accounting: the slots this step fills (a CoW copy arrives filled as well).
        for i in firstWritten ..< numRequired {
            pool.markFilled(entry.blocks[i], slots: min(blockSize, numTotal - i * blockSize))
        }

        // Cache the blocks that are full of known tokens. Caching at scheduling time (before
        // the KV is written) is safe because a step writes each layer's KV before attention
        // reads it, so a request hitting these blocks in the same step sees them filled.
        if enableCaching {
            let numFull = min(numTotal, request.numTokens) / blockSize
            if numFull > entry.numCachedBlocks {
                let hashes = request.fullBlockHashes(blockSize: blockSize, count: numFull)
                pool.cacheFullBlocks(entry.blocks[entry.numCachedBlocks ..< numFull],
                                     hashes: hashes[entry.numCachedBlocks ..< numFull])
                entry.numCachedBlocks = numFull
            }
        }
        entries[request.requestID] = entry
        return added
    }

    /// Gives `child` the same block table as `parent` (each block gains a reference, the
    /// partially filled last block included) and sets the child's computed tokens to the
    /// parent's. The child's tokens must start with the parent's computed tokens. Later
    /// writes into a shared partial block go through copy-on-write in `allocateSlots`.
    public func fork(parent: Request, child: Request) {
        precondition(entries[child.requestID] == nil, "fork target \(child.requestID) already holds blocks")
        precondition(child.numTokens >= parent.numComputedTokens
                     && child.allTokenIDs[..<parent.numComputedTokens] == parent.allTokenIDs[..<parent.numComputedTokens],
                     "the child must continue the parent's computed tokens")
        let source = entries[parent.requestID] ?? Entry()
        pool.touch(source.blocks)
        entries[child.requestID] = source
        child.numComputedTokens = parent.numComputedTokens
    }

    /// Drops the request's block table. Blocks go to the free queue in reverse, so the tail of
    /// the sequence (least likely to be shared by a later prompt) is evicted first.
    ///
    /// `numWrittenTokens` (default: all the request's slots) is for a request dropped after its
    /// step was scheduled but before it ran: blocks it alone holds that this step would have
    /// filled leave the prefix cache, since their KV will never be written.
    public func free(_ request: Request, numWrittenTokens: Int? = nil) {
        guard let entry = entries.removeValue(forKey: request.requestID) else { return }
        if let written = numWrittenTokens {
            for (i, block) in entry.blocks.enumerated()
            where (i + 1) * blockSize > written && block.refCount == 1 && block.blockHash != nil {
                pool.evict(block)
            }
        }
        // A copy into a block this request no longer holds must not run.
        let dropped = Set(entry.blocks.filter { $0.refCount == 1 }.map(\.blockID))
        if !dropped.isEmpty { pendingCopies.removeAll { dropped.contains($0.dst) } }
        pool.freeBlocks(Array(entry.blocks.reversed()))
    }

    /// The request's block table as block ids (empty when it holds none).
    public func blockIDs(_ requestID: String) -> [Int] {
        entries[requestID]?.blocks.map { $0.blockID } ?? []
    }

    /// The request's block table.
    public func blocks(_ requestID: String) -> [KVCacheBlock] {
        entries[requestID]?.blocks ?? []
    }

    /// Copy-on-write copies recorded since the last call; the model runner must perform them,
    /// in order, before running the step.
    public func takePendingCopies() -> [BlockCopy] {
        defer { pendingCopies = [] }
        return pendingCopies
    }

    /// Slots in blocks held by any request, counting a shared block once.
    public var allocatedSlots: Int { (pool.numKVBlocks - pool.numFreeBlocks) * blockSize }

    /// Slots holding KV (written or being written this step), counting a shared block once.
    public var usedSlots: Int { pool.numFilledSlotsHeld }

    /// Fraction of held slots not holding KV: `1 - usedSlots / allocatedSlots`, 0 when nothing
    /// is held. With on-demand allocation this is the unfilled tails of last blocks.
    public var kvWaste: Double {
        let allocated = allocatedSlots
        return allocated == 0 ? 0 : 1 - Double(usedSlots) / Double(allocated)
    }
}
