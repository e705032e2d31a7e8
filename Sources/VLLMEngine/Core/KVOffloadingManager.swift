/// One block's KV, hashed `hash`, moved between the primary pool (`blockID`) and a slot of the
/// offloading tier (the hash lets a persistent tier label and check what a slot holds).
public struct BlockTransfer: Sendable, Hashable {
    public let blockID: Int
    public let slot: Int
    public let hash: BlockHash

    public init(blockID: Int, slot: Int, hash: BlockHash) {
        self.blockID = blockID
        self.slot = slot
        self.hash = hash
    }
}

/// Which block contents the KV offloading tier holds (vLLM's `OffloadingManager` with its LRU
/// policy): a fixed number of slots, each holding one full block's KV under its content hash.
/// Pure bookkeeping; the worker's `KVOffloadStore` holds the bytes and moves them as each step's
/// `offloadLoads` and `offloadStores` say.
///
/// The tier is written through: a block entering the primary pool's prefix cache is stored
/// here (in a free slot, else the least recently used one) once the step that fills it has
/// run, while the pool keeps it, so the copy runs beside later steps and an eviction from the
/// pool copies nothing. A prefix lookup that runs past the pool's cached blocks continues here,
/// and each hit is loaded into a fresh pool block before its step. A slot being loaded from is
/// pinned until the step's transfers are taken, so no store of the same step takes it, and a
/// slot whose store is not taken yet can't be loaded in the same step.
public final class KVOffloadingManager {
    public let numSlots: Int
    private var slotOf: [BlockHash: Int] = [:]
    private var hashIn: [BlockHash?] = []
    // Used slots as a doubly linked list, least recently used first (-1: none).
    private var prev: [Int] = [], next: [Int] = []
    private var head = -1, tail = -1
    private var freeSlots: [Int] = []
    private var pinned: Set<Int> = []
    private var stores: [BlockTransfer] = []
    private var loads: [BlockTransfer] = []

    /// Blocks stored and loaded since the start.
    public private(set) var numStored = 0
    public private(set) var numLoaded = 0
    /// Prompt tokens looked up here (those the pool's prefix cache did not cover), and found.
    /// Blocks whose KV failed its check when loaded (they were recomputed).
    public internal(set) var numFailedLoads = 0
    public internal(set) var queries = 0
    public internal(set) var hits = 0

    public init(numSlots: Int) {
        precondition(numSlots > 0, "an offloading tier needs at least one slot")
        self.numSlots = numSlots
        reset()
    }

    /// Takes over what a persistent tier held before a restart: `slot` holds `hash`, least
    /// recently used first. Only before anything else happens.
    public func restore(_ entries: [(slot: Int, hash: BlockHash)]) {
        precondition(slotOf.isEmpty, "a tier is restored only when empty")
        for (slot, hash) in entries {
            precondition(slot >= 0 && slot < numSlots && hashIn[slot] == nil && slotOf[hash] == nil, "bad restored slot \(slot)")
            hashIn[slot] = hash
            slotOf[hash] = slot
            linkAtTail(slot)
        }
        let used = Set(entries.map(\.slot))
        freeSlots.removeAll { used.contains($0) }
    }

    /// Forgets `hash` (its slot's content proved unreadable); its slot becomes free.
    public func forget(_ hash: BlockHash) {
        guard let slot = slotOf.removeValue(forKey: hash) else { return }
        hashIn[slot] = nil
        unlink(slot)
        pinned.remove(slot)
        dropPendingStore(slot)
        freeSlots.append(slot)
    }

    public var numUsedSlots: Int { slotOf.count }

    public func contains(_ hash: BlockHash) -> Bool { slotOf[hash] != nil }

    /// Records that pool block `blockID` is cached under `hash` by the step being scheduled:
    /// its KV is copied into a slot after that step unless the tier already holds it. Dropped
    /// when every slot is pinned.
    public func offload(_ hash: BlockHash, fromBlock blockID: Int) {
        if let slot = slotOf[hash] {
            moveToTail(slot)
            return
        }
        guard let slot = freeSlots.popLast() ?? leastRecentUnpinned() else { return }
        if let old = hashIn[slot] {
            slotOf.removeValue(forKey: old)
            unlink(slot)
            dropPendingStore(slot)
        }
        hashIn[slot] = hash
        slotOf[hash] = slot
        linkAtTail(slot)
        stores.append(BlockTransfer(blockID: blockID, slot: slot, hash: hash))
        numStored += 1
    }

    /// Marks `hash` most recently used, if held (the pool used or evicted its block).
    public func touch(_ hash: BlockHash) {
        if let slot = slotOf[hash] { moveToTail(slot) }
    }

    /// Withdraws a store not yet taken of pool block `blockID` (its KV will never be written):
    /// the tier forgets `hash`.
    public func cancelStore(_ hash: BlockHash, fromBlock blockID: Int) {
        guard stores.contains(where: { $0.blockID == blockID && $0.hash == hash }) else { return }
        forget(hash)
    }

    /// Whether `hash` can be loaded in the step being scheduled (held, and not only by a store
    /// that runs after it).
    public func isLoadable(_ hash: BlockHash) -> Bool {
        guard let slot = slotOf[hash] else { return false }
        return !stores.contains { $0.slot == slot }
    }

    private func dropPendingStore(_ slot: Int) {
        let n = stores.count
        stores.removeAll { $0.slot == slot }
        numStored -= n - stores.count
    }

    /// Pins the slot holding `hash` (which must be loadable) for a load before this step,
    /// and marks it most recently used; returns the slot.
    public func pin(_ hash: BlockHash) -> Int {
        guard let slot = slotOf[hash], isLoadable(hash) else { preconditionFailure("the offloading tier can't load \(hash) now") }
        pinned.insert(slot)
        moveToTail(slot)
        return slot
    }

    /// Records that `slot` (pinned) is copied into pool block `blockID` before the step runs.
    public func load(slot: Int, intoBlock blockID: Int) {
        precondition(pinned.contains(slot), "slot \(slot) is loaded without being pinned")
        loads.append(BlockTransfer(blockID: blockID, slot: slot, hash: hashIn[slot]!))
        numLoaded += 1
    }

    /// The copies recorded since the last call, each in order: the worker performs the loads
    /// before the step and the stores after it. Unpins every slot.
    public func takeTransfers() -> (stores: [BlockTransfer], loads: [BlockTransfer]) {
        defer { stores = []; loads = []; pinned = [] }
        return (stores, loads)
    }

    /// Forgets every block (their KV no longer matches what the hashes describe).
    public func reset() {
        slotOf.removeAll()
        hashIn = Array(repeating: nil, count: numSlots)
        prev = Array(repeating: -1, count: numSlots)
        next = Array(repeating: -1, count: numSlots)
        head = -1
        tail = -1
        freeSlots = Array((0..<numSlots).reversed())
        stores = []
        loads = []
        pinned = []
    }

    /// The hashes held, least recently used first.
    public var lruOrder: [BlockHash] {
        var out: [BlockHash] = []
        var s = head
        while s >= 0 { out.append(hashIn[s]!); s = next[s] }
        return out
    }

    private func leastRecentUnpinned() -> Int? {
        var s = head
        while s >= 0 && pinned.contains(s) { s = next[s] }
        return s >= 0 ? s : nil
    }

    private func unlink(_ s: Int) {
        if prev[s] >= 0 { next[prev[s]] = next[s] } else { head = next[s] }
        if next[s] >= 0 { prev[next[s]] = prev[s] } else { tail = prev[s] }
        prev[s] = -1
        next[s] = -1
    }

    private func linkAtTail(_ s: Int) {
        prev[s] = tail
        next[s] = -1
        if tail >= 0 { next[tail] = s } else { head = s }
        tail = s
    }

    private func moveToTail(_ s: Int) {
        guard tail != s else { return }
        unlink(s)
        linkAtTail(s)
    }
}
