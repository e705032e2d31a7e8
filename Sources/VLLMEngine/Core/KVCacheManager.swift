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

/// Each request's block tables over a shared `BlockPool`: prefix-cache lookup, on-demand block
/// allocation, copy-on-write for forked sequences, and freeing (vLLM's `KVCacheManager`, with
/// the KV cache groups of its hybrid manager).
///
/// A request has one block table per KV cache group (`windows`: each group's attention window,
/// nil for full attention; one group of full attention unless the model mixes windows). Blocks
/// are allocated only to hold the tokens computed so far plus those scheduled in the current
/// step, so a table has `ceil(tokens / blockSize)` entries and waste is limited to the unfilled
/// tail of each last block. A sliding-window group frees the blocks that fall wholly behind the
/// window of the next position to compute (their entries become nil; they return to the free
/// queue, still reusable through the prefix cache), so it holds about window / blockSize + 1.
public final class KVCacheManager {
    public let blockSize: Int
    public let pool: BlockPool
    /// Each group's attention window (nil: full attention).
    public let windows: [Int?]

    private struct GroupTable {
        var blocks: [KVCacheBlock?] = []
        /// Leading entries already offered to the prefix cache.
        var numCachedBlocks = 0
    }

    private struct Entry {
        var groups: [GroupTable]
    }

    private var entries: [String: Entry] = [:]
    private var pendingCopies: [BlockCopy] = []

    /// `offloadingSlots`: blocks the KV offloading tier holds (nil: no tier); only for one
    /// group of full attention.
    public init(blockSize: Int, numBlocks: Int, enableCaching: Bool, windows: [Int?] = [nil], offloadingSlots: Int? = nil) {
        precondition(blockSize > 0, "block size must be positive")
        precondition(!windows.isEmpty && windows.allSatisfy { ($0 ?? 1) >= 1 }, "bad KV cache groups")
        precondition(offloadingSlots == nil || windows == [nil], "KV offloading needs one KV cache group of full attention")
        self.blockSize = blockSize
        self.windows = windows
        pool = BlockPool(numBlocks: numBlocks, enableCaching: enableCaching,
                         offloading: offloadingSlots.map { KVOffloadingManager(numSlots: $0) })
    }

    public var offloading: KVOffloadingManager? { pool.offloading }

    public var enableCaching: Bool { pool.enableCaching }
    public var numFreeBlocks: Int { pool.numFreeBlocks }
    public var usage: Double { pool.usage }
    public var groupCount: Int { windows.count }

    /// The first block of group `g` the position `position` (and any later one) still reads.
    private func firstNeededBlock(group g: Int, position: Int) -> Int {
        guard let w = windows[g] else { return 0 }
        return max(0, position - w + 1) / blockSize
    }

    /// Blocks a request of `tokens` positions may hold at once over all groups, computing at
    /// most `chunk` positions a step: every block for full attention; for a sliding window, those
    /// spanning the chunk and the window behind its first position.
    public static func maxBlocksNeeded(windows: [Int?], blockSize: Int, tokens: Int, chunk: Int) -> Int {
        let all = (tokens + blockSize - 1) / blockSize
        return windows.reduce(0) { n, w in n + (w.map { min(all, ($0 - 1 + chunk + blockSize - 1) / blockSize + 1) } ?? all) }
    }

    public func maxBlocksNeeded(tokens: Int, chunk: Int) -> Int {
        Self.maxBlocksNeeded(windows: windows, blockSize: blockSize, tokens: tokens, chunk: chunk)
    }

    /// The longest prefix of `request`'s tokens whose KV the prefix cache holds in every group,
    /// as each group's leading table entries (a sliding-window group needs only the blocks its
    /// window still reads: nil before them), the hashes of the blocks after those that the
    /// offloading tier holds (to be loaded), and the tokens they all cover. The last known token is
    /// never served from the cache, even when it ends a full block: it must run through the
    /// model to give logits to sample from. Counts the request's tokens as queries and the
    /// covered tokens as hits (each call counts, so a request that waits and retries is
    /// counted again, as in vLLM).
    public func computedBlocks(for request: Request) -> (blocks: [[KVCacheBlock?]], numComputedTokens: Int, offloaded: [BlockHash]) {
        guard enableCaching else { return ([], 0, []) }
        let hashes = request.fullBlockHashes(blockSize: blockSize, count: (request.numTokens - 1) / blockSize)
        func cached(_ g: Int, _ i: Int) -> KVCacheBlock? { pool.getCachedBlock(hashes[i].forGroup(g)) }
        // Full-attention groups need every block up to the hit; that bounds the search.
        var n = hashes.count
        for g in windows.indices where windows[g] == nil {
            n = min(n, (0..<n).first { cached(g, $0) == nil } ?? n)
        }
        // Sliding-window groups need the blocks the next position's window reads: the run of
        // cached blocks ending at block n - 1 must reach back to the window's first block.
        var runs: [Int: [Int]] = [:]
        for g in windows.indices where windows[g] != nil {
            var run = [Int](repeating: 0, count: n), length = 0
            for i in 0..<n {
                length = cached(g, i) == nil ? 0 : length + 1
                run[i] = length
            }
            runs[g] = run
        }
        func windowsHit(_ n: Int) -> Bool {
            runs.allSatisfy { g, run in run[n - 1] >= n - firstNeededBlock(group: g, position: n * blockSize) }
        }
        while n > 0 && !windowsHit(n) { n -= 1 }
        pool.prefixCacheQueries += request.numTokens
        pool.prefixCacheHits += n * blockSize
        var offloaded: [BlockHash] = []
        if let tier = offloading {
            // The tier's copies of the pool's hits are used too (the prefix's tail least).
            for h in hashes[..<n].reversed() { tier.touch(h) }
            offloaded = Array(hashes[n...].prefix { tier.isLoadable($0) })
            tier.queries += request.numTokens - n * blockSize
            tier.hits += offloaded.count * blockSize
        }
        let blocks: [[KVCacheBlock?]] = n == 0 ? [] : windows.indices.map { g in
            let first = firstNeededBlock(group: g, position: n * blockSize)
            return (0..<n).map { i in i < first ? nil : cached(g, i) }
        }
        return (blocks, (n + offloaded.count) * blockSize, offloaded)
    }

    /// Makes room for `numNewTokens` more tokens of `request` after its computed ones, first
    /// appending `newComputedBlocks` and then fresh blocks loaded with the `offloaded` hashes'
    /// KV (prefix-cache hits from `computedBlocks(for:)`, for a request that holds no blocks
    /// yet). Returns the blocks newly added to the tables, or nil when the pool can't supply
    /// them, in which case nothing has changed.
    ///
    /// A partially filled block shared with another table (after `fork`) that would receive
    /// new tokens is first replaced by a private copy (see `takePendingCopies`). Full blocks
    /// that now hold known tokens are offered to the prefix cache. Sliding-window groups first
    /// let go of the blocks the new tokens' windows no longer read.
    public func allocateSlots(_ request: Request, numNewTokens: Int,
                              newComputedBlocks: [[KVCacheBlock?]] = [], offloaded: [BlockHash] = []) -> [KVCacheBlock]? {
        precondition(numNewTokens >= 0, "negative token count")
        var entry = entries[request.requestID] ?? Entry(groups: Array(repeating: GroupTable(), count: windows.count))
        precondition((newComputedBlocks.isEmpty && offloaded.isEmpty) || entry.groups.allSatisfy { $0.blocks.isEmpty },
                     "prefix-cache hits can only start a block table")
        precondition(newComputedBlocks.isEmpty || newComputedBlocks.count == windows.count, "one hit list per group")
        precondition(offloaded.isEmpty || offloading != nil, "offloaded hits without an offloading tier")
        let hits = newComputedBlocks.isEmpty ? Array(repeating: [], count: windows.count) : newComputedBlocks
        let numHit = hits[0].count + offloaded.count
        let numComputed = request.numComputedTokens + numHit * blockSize
        let numTotal = numComputed + numNewTokens
        let numRequired = (numTotal + blockSize - 1) / blockSize
        let firstWritten = numComputed / blockSize

        var plans: [(skipped: [Int], cow: [Int])] = []
        var numFresh = 0, numRevived = 0, numReleased = 0
        for g in windows.indices {
            let table = entry.groups[g].blocks
            // Entries behind the window of the first new position (none for full attention).
            let firstNeeded = min(firstNeededBlock(group: g, position: numComputed), table.count)
            let skipped = (0..<firstNeeded).filter { table[$0] != nil }
            numReleased += skipped.count { table[$0]!.refCount == 1 }
            // Held blocks that this step writes into (from the one holding the first new token)
            // must be private; a shared one gets a fresh copy. (Prefix-cache hits are full blocks
            // below `numComputed`, so only held ones qualify.)
            var cow: [Int] = []
            let pastHeld = min(numRequired, table.count)
            if numNewTokens > 0 && firstWritten < pastHeld {
                cow = (firstWritten ..< pastHeld).filter { table[$0]!.refCount > 1 }
            }
            // Free cached blocks revived by a hit leave the free queue, so they count against it.
            numRevived += hits[g].count { $0 != nil && $0!.refCount == 0 }
            numFresh += max(0, numRequired - table.count - hits[g].count) + cow.count
            plans.append((skipped, cow))
        }
        guard numFresh + numRevived <= pool.numFreeBlocks + numReleased else { return nil }

        // Every group's hits are touched and the tier's hits pinned (so this call can't evict
        // them), and the blocks windows let go of are released, before any fresh block is taken.
        let loadSlots = offloaded.map { offloading!.pin($0) }
        var added: [KVCacheBlock] = []
        for g in windows.indices {
            let hit = hits[g].compactMap { $0 }
            pool.touch(hit)
            entry.groups[g].blocks += hits[g]
            added += hit
            let skipped = plans[g].skipped
            pool.freeBlocks(skipped.reversed().map { entry.groups[g].blocks[$0]! })
            for i in skipped { entry.groups[g].blocks[i] = nil }
        }
        for g in windows.indices {
            var t = entry.groups[g]
            for i in plans[g].cow {
                let shared = t.blocks[i]!
                let copy = pool.getNewBlocks(1)[0]
                pendingCopies.append(BlockCopy(src: shared.blockID, dst: copy.blockID))
                t.blocks[i] = copy
                pool.freeBlocks([shared])
                added.append(copy)
            }
            let fresh = pool.getNewBlocks(max(0, numRequired - t.blocks.count))
            // The first fresh blocks of a new table take the tier's hits (one group here).
            for (slot, block) in zip(loadSlots, fresh) {
                offloading!.load(slot: slot, intoBlock: block.blockID)
                pool.markFilled(block, slots: blockSize)
            }
            t.blocks += fresh
            added += fresh
            // Waste accounting: the slots this step fills (a CoW copy arrives filled as well).
            for i in firstWritten ..< numRequired {
                pool.markFilled(t.blocks[i]!, slots: min(blockSize, numTotal - i * blockSize))
            }
            // Cache the blocks that are full of known tokens. Caching at scheduling time (before
            // the KV is written) is safe because a step writes each layer's KV before attention
            // reads it, so a request hitting these blocks in the same step sees them filled.
            if enableCaching {
                let numFull = min(numTotal, request.numTokens) / blockSize
                if numFull > t.numCachedBlocks {
                    let hashes = request.fullBlockHashes(blockSize: blockSize, count: numFull)
                    let range = t.numCachedBlocks ..< numFull
                    let held = range.filter { t.blocks[$0] != nil }
                    pool.cacheFullBlocks(ArraySlice(held.map { t.blocks[$0]! }), hashes: ArraySlice(held.map { hashes[$0].forGroup(g) }))
                    t.numCachedBlocks = numFull
                }
            }
            entry.groups[g] = t
        }
        entries[request.requestID] = entry
        return added
    }

    /// Gives `child` the parent's block tables up to `numComputedTokens` (default: all the
    /// parent's computed tokens; each block gains a reference, a partially filled last block
    /// included) and sets the child's computed tokens to that. The child's tokens must start
    /// with those tokens. Later writes into a shared partial block go through copy-on-write in
    /// `allocateSlots`.
    public func fork(parent: Request, child: Request, numComputedTokens: Int? = nil) {
        let n = numComputedTokens ?? parent.numComputedTokens
        precondition(entries[child.requestID] == nil, "fork target \(child.requestID) already holds blocks")
        precondition(n <= parent.numComputedTokens && child.numTokens >= n && child.allTokenIDs[..<n] == parent.allTokenIDs[..<n],
                     "the child must continue the parent's computed tokens")
        var source = entries[parent.requestID] ?? Entry(groups: Array(repeating: GroupTable(), count: windows.count))
        let numBlocks = (n + blockSize - 1) / blockSize
        for g in source.groups.indices {
            source.groups[g].blocks = Array(source.groups[g].blocks.prefix(numBlocks))
            source.groups[g].numCachedBlocks = min(source.groups[g].numCachedBlocks, n / blockSize)
        }
        pool.touch(source.groups.flatMap { $0.blocks.compactMap { $0 } })
        entries[child.requestID] = source
        child.numComputedTokens = n
    }

    /// Drops the request's block tables. Blocks go to the free queue in reverse, so the tail of
    /// the sequence (least likely to be shared by a later prompt) is evicted first.
    ///
    /// `numWrittenTokens` (default: all the request's slots) is for a request dropped after its
    /// step was scheduled but before it ran: blocks it alone holds that this step would have
    /// filled leave the prefix cache, since their KV will never be written.
    public func free(_ request: Request, numWrittenTokens: Int? = nil) {
        guard let entry = entries.removeValue(forKey: request.requestID) else { return }
        for t in entry.groups {
            if let written = numWrittenTokens {
                for (i, block) in t.blocks.enumerated()
                where (i + 1) * blockSize > written && block != nil && block!.refCount == 1 && block!.blockHash != nil {
                    pool.invalidate(block!)
                }
            }
            let held = t.blocks.compactMap { $0 }
            // A copy into a block this request no longer holds must not run.
            let dropped = Set(held.filter { $0.refCount == 1 }.map(\.blockID))
            if !dropped.isEmpty { pendingCopies.removeAll { dropped.contains($0.dst) } }
            pool.freeBlocks(held.reversed())
        }
    }

    /// Gives back the request's blocks past those its first `numTokens` positions need (the
    /// slots of rejected proposed tokens).
    public func truncate(_ request: Request, numTokens: Int) {
        guard var entry = entries[request.requestID] else { return }
        let keep = (numTokens + blockSize - 1) / blockSize
        for g in entry.groups.indices where entry.groups[g].blocks.count > keep {
            let dropped = entry.groups[g].blocks[keep...].compactMap { $0 }
            entry.groups[g].blocks.removeLast(entry.groups[g].blocks.count - keep)
            entry.groups[g].numCachedBlocks = min(entry.groups[g].numCachedBlocks, keep)
            pool.freeBlocks(dropped.reversed())
        }
        entries[request.requestID] = entry
    }

    /// Whether the request holds any block.
    public func holdsBlocks(_ requestID: String) -> Bool {
        entries[requestID]?.groups.contains { !$0.blocks.isEmpty } ?? false
    }

    /// The request's block table of each group as block ids (entries a window dropped: 0, never
    /// read); empty tables when it holds none.
    public func blockTables(_ requestID: String) -> [[Int]] {
        entries[requestID]?.groups.map { $0.blocks.map { $0?.blockID ?? 0 } } ?? Array(repeating: [], count: windows.count)
    }

    /// The first group's block table as block ids (the only one for most models).
    public func blockIDs(_ requestID: String) -> [Int] { blockTables(requestID)[0] }

    /// The blocks the request holds in group `g`, in table order.
    public func blocks(_ requestID: String, group g: Int = 0) -> [KVCacheBlock] {
        entries[requestID]?.groups[g].blocks.compactMap { $0 } ?? []
    }

    /// Table entries over all requests and groups: the blocks they would hold if no window
    /// dropped any (a block shared by several tables counts in each).
    public var numTableEntries: Int {
        entries.values.reduce(0) { $0 + $1.groups.reduce(0) { $0 + $1.blocks.count } }
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
