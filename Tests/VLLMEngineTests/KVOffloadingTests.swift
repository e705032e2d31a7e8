import Testing
import VLLMCompute
@testable import VLLMEngine

/// The offloading tier's bookkeeping against a plain LRU list: random stores, touches, withdrawn
/// stores, pinned loads and step boundaries; every load reads the contents its hash was stored
/// with.
@Suite struct KVOffloadingManagerTests {
    @Test(arguments: 0..<4)
    func randomOperationsFollowTheReferenceLRU(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 7919 &+ 3)
        let numSlots = Int.random(in: 1...6, using: &rng)
        let tier = KVOffloadingManager(numSlots: numSlots)
        let universe = (0..<(numSlots * 3)).map { BlockHash(parent: nil, tokenIDs: [$0]) }
        var reference: [BlockHash] = []  // least recently used first
        var pinnedHashes: Set<BlockHash> = []
        var slotContents = [BlockHash?](repeating: nil, count: numSlots)
        var blockContents: [Int: BlockHash] = [:]
        var expectedLoads: [(slot: Int, hash: BlockHash)] = []
        var pendingStores: [(block: Int, hash: BlockHash)] = []
        var nextBlock = 0, loadsSeen = 0
        for _ in 0..<400 {
            switch Int.random(in: 0..<13, using: &rng) {
            case 0..<5:
                let h = universe.randomElement(using: &rng)!
                let block = nextBlock
                nextBlock += 1
                blockContents[block] = h
                if let i = reference.firstIndex(of: h) {
                    reference.append(reference.remove(at: i))
                } else if reference.count < numSlots {
                    reference.append(h)
                    pendingStores.append((block, h))
                } else if let i = reference.firstIndex(where: { !pinnedHashes.contains($0) }) {
                    pendingStores.removeAll { $0.hash == reference[i] }
                    reference.remove(at: i)
                    reference.append(h)
                    pendingStores.append((block, h))
                }
                tier.offload(h, fromBlock: block)
            case 5..<8:
                // A store not taken yet runs after the step: its slot can't be loaded before it.
                guard let h = reference.filter({ h in !pendingStores.contains { $0.hash == h } }).randomElement(using: &rng) else { continue }
                #expect(tier.contains(h) && tier.isLoadable(h))
                let slot = tier.pin(h)
                reference.append(reference.remove(at: reference.firstIndex(of: h)!))
                pinnedHashes.insert(h)
                let block = nextBlock
                nextBlock += 1
                tier.load(slot: slot, intoBlock: block)
                expectedLoads.append((slot, h))
            case 8:
                // A slot whose content proved unreadable.
                guard let h = reference.filter({ !pinnedHashes.contains($0) }).randomElement(using: &rng) else { continue }
                tier.forget(h)
                reference.removeAll { $0 == h }
                pendingStores.removeAll { $0.hash == h }
                #expect(!tier.contains(h))
            case 9:
                // The pool used or evicted a block: a held hash becomes the most recent.
                let h = universe.randomElement(using: &rng)!
                tier.touch(h)
                if let i = reference.firstIndex(of: h) { reference.append(reference.remove(at: i)) }
            case 10:
                // A block whose KV will not be written after all: only a store not yet taken goes.
                guard let s = pendingStores.randomElement(using: &rng) else {
                    tier.cancelStore(universe[0], fromBlock: -1)
                    continue
                }
                tier.cancelStore(s.hash, fromBlock: s.block)
                pendingStores.removeAll { $0.block == s.block }
                reference.removeAll { $0 == s.hash }
                #expect(!tier.contains(s.hash))
            default:
                let (stores, loads) = tier.takeTransfers()
                #expect(stores.map(\.blockID) == pendingStores.map(\.block))
                #expect(loads.map(\.hash) == expectedLoads.map(\.hash))
                #expect(loads.map(\.slot) == expectedLoads.map(\.slot))
                // Loads run before the step, stores after it.
                for l in expectedLoads { #expect(slotContents[l.slot] == l.hash, "a load read other contents") }
                for s in stores {
                    #expect(s.hash == blockContents[s.blockID])
                    slotContents[s.slot] = blockContents[s.blockID]
                }
                loadsSeen += loads.count
                pendingStores = []
                expectedLoads = []
                pinnedHashes = []
            }
            #expect(tier.lruOrder == reference)
            #expect(tier.numUsedSlots == reference.count && reference.count <= numSlots)
        }
        #expect(loadsSeen > 0 && tier.numStored > numSlots)
    }

    @Test func restoredSlotsKeepTheirOrderAndAreNotReused() {
        let tier = KVOffloadingManager(numSlots: 3)
        let a = BlockHash(parent: nil, tokenIDs: [1]), b = BlockHash(parent: nil, tokenIDs: [2])
        let c = BlockHash(parent: nil, tokenIDs: [3]), d = BlockHash(parent: nil, tokenIDs: [4])
        tier.restore([(slot: 2, hash: a), (slot: 0, hash: b)])
        #expect(tier.lruOrder == [a, b])
        tier.offload(c, fromBlock: 7)
        #expect(tier.takeTransfers().stores == [BlockTransfer(blockID: 7, slot: 1, hash: c)])
        tier.offload(d, fromBlock: 8)  // full: the least recently used, a, goes
        #expect(tier.takeTransfers().stores == [BlockTransfer(blockID: 8, slot: 2, hash: d)])
        #expect(tier.lruOrder == [b, c, d])
    }

    @Test func resetForgetsEverything() {
        let tier = KVOffloadingManager(numSlots: 2)
        let h = BlockHash(parent: nil, tokenIDs: [1])
        tier.offload(h, fromBlock: 0)
        tier.reset()
        #expect(!tier.contains(h) && tier.numUsedSlots == 0 && tier.takeTransfers().stores.isEmpty)
    }
}

/// The tier inside the scheduler: a prefix evicted from a small pool comes back from the tier.
@Suite struct KVOffloadingSchedulerTests {
    @Test func anEvictedPrefixIsLoadedBackInsteadOfRecomputed() throws {
        var config = SchedulerConfig(maxNumBatchedTokens: 64, maxModelLen: 64, blockSize: 4)
        config.kvOffloadingBlocks = 16
        let scheduler = try Scheduler(config: config, numBlocks: 6)
        let prompt = Array(0..<17)  // four full blocks and one token
        func run(_ id: String, _ tokens: [Int]) throws -> [SchedulerOutput] {
            var outs: [SchedulerOutput] = []
            try scheduler.add(Request(requestID: id, promptTokenIDs: tokens, samplingParams: SamplingParams(maxTokens: 1)))
            while scheduler.hasUnfinishedRequests {
                let out = scheduler.schedule()
                outs.append(out)
                _ = scheduler.update(output: out, sampled: Dictionary(uniqueKeysWithValues: out.scheduled.map { ($0.requestID, 1) }))
            }
            return outs
        }
        // The tier is written through: a's four full blocks are stored by the step that fills them.
        let a = try run("a", prompt)
        #expect(a[0].offloadStores.count == 4)
        // Another prompt of five blocks takes every pool block, evicting a's four cached ones
        // (nothing is copied then).
        let b = try run("b", Array(100..<121))
        #expect(b.flatMap(\.offloadStores).count == 5)
        let c = try run("c", prompt)
        #expect(c[0].offloadLoads.count == 4 && c[0].offloadStores.isEmpty)
        #expect(c[0].scheduled[0].startPosition == 16 && c[0].scheduled[0].numTokens == 1)
        let stores = Dictionary(uniqueKeysWithValues: a[0].offloadStores.map { ($0.slot, $0) })
        #expect(c[0].offloadLoads.allSatisfy { stores[$0.slot]?.hash == $0.hash }, "every load reads what a stored")
        let stats = try #require(scheduler.stats.offload)
        #expect(stats.hits == 16 && stats.blocksLoaded == 4 && stats.blocksStored == 9)
    }

    @Test func flagsThatCannotWorkAreRefused() {
        var config = SchedulerConfig(maxModelLen: 64)
        config.kvOffloadingBlocks = 4
        config.enablePrefixCaching = false
        #expect(throws: SchedulerError.self) { try Scheduler(config: config, numBlocks: 8) }
        config.enablePrefixCaching = true
        config.kvCacheGroupWindows = [nil, 32]
        #expect(throws: SchedulerError.self) { try Scheduler(config: config, numBlocks: 8) }
    }
}
