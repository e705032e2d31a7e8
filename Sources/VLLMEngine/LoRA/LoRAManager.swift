import VLLMModels

/// The engine's loaded LoRA adapters (vLLM's `LoRAModelManager` with its CPU LRU cache).
/// Owned by the engine's owner thread, like the scheduler.
///
/// Memory follows S-LoRA's unified pool instead of vLLM's preallocation: an adapter takes
/// ceil(bytes / block bytes) blocks out of the KV block pool while it is loaded and gives
/// them back when unloaded, so `--max-lora-rank 256` costs nothing until a large adapter
/// actually arrives. At most `maxCPULoras` adapters stay loaded; loading one more evicts the
/// least recently used adapter that no unfinished request uses.
final class LoRAManager {
    struct Entry {
        let request: LoRARequest
        let adapter: LoRAAdapter
        /// Unique per load: the scheduler's and runner's adapter id, and the prefix-cache key,
        /// so a name reloaded with other weights never hits the old adapter's KV blocks.
        let serial: Int
        let blocks: [KVCacheBlock]
        var lastUsed: Int
    }

    let maxRank: Int
    let maxLoras: Int
    let maxCPULoras: Int
    let blockBytes: Int
    private(set) var entries: [String: Entry] = [:]
    private var nextSerial = 1
    private var clock = 0

    init(maxRank: Int, maxLoras: Int, maxCPULoras: Int, blockBytes: Int) {
        self.maxRank = maxRank
        self.maxLoras = maxLoras
        self.maxCPULoras = maxCPULoras
        self.blockBytes = blockBytes
    }

    var reservedBlocks: Int { entries.values.reduce(0) { $0 + $1.blocks.count } }
    var reservedBytes: Int { entries.values.reduce(0) { $0 + $1.adapter.byteCount } }

    func entry(named name: String) -> Entry? { entries[name] }

    /// Marks an adapter as just used (LRU order).
    func touch(_ name: String) {
        clock += 1
        entries[name]?.lastUsed = clock
    }

    /// Registers a loaded adapter, taking its blocks from `pool` and evicting an idle adapter
    /// when `maxCPULoras` are loaded. `inUse(serial)` counts a loaded adapter's unfinished
    /// requests. Returns the new entry and the adapters evicted.
    func add(_ request: LoRARequest, _ adapter: LoRAAdapter, pool: BlockPool,
             inUse: (Int) -> Int) throws(LoRALoadError) -> (Entry, evicted: [Entry]) {
        guard entries[request.loraName] == nil else { throw .duplicateName(request.loraName) }
        if let other = entries.values.first(where: { $0.request.loraIntId == request.loraIntId }) {
            throw .badRequest("lora_int_id \(request.loraIntId) is already used by adapter '\(other.request.loraName)'")
        }
        var evicted: [Entry] = []
        if entries.count >= maxCPULoras {
            let idle = entries.values.filter { inUse($0.serial) == 0 }.min { $0.lastUsed < $1.lastUsed }
            guard let victim = idle else { throw .full(maxCPULoras: maxCPULoras) }
            evicted.append(remove(victim.request.loraName, pool: pool))
        }
        let needed = (adapter.byteCount + blockBytes - 1) / blockBytes
        guard let blocks = pool.reserveBlocks(needed) else {
            throw .noMemory(name: request.loraName, blocks: needed, free: pool.numFreeBlocks)
        }
        clock += 1
        let e = Entry(request: request, adapter: adapter, serial: nextSerial, blocks: blocks, lastUsed: clock)
        nextSerial += 1
        entries[request.loraName] = e
        return (e, evicted)
    }

    /// Drops an adapter and returns its blocks to the pool (the caller checks it is unused).
    @discardableResult
    func remove(_ name: String, pool: BlockPool) -> Entry {
        let e = entries.removeValue(forKey: name)!
        pool.releaseReserved(e.blocks)
        return e
    }

    /// What vLLM would set aside at start for the same flags: for every layer and LoRA target
    /// module, `max_loras` slots of A (rank × in) and B (out × rank) at `max_lora_rank`, in
    /// vLLM's 16-bit LoRA dtype.
    static func preallocationBytes(config c: ModelConfig, maxLoras: Int, maxRank: Int) -> Int {
        let perLayer = LoRATarget.allCases.reduce(0) { sum, t in
            let (out, inp) = t.dimensions(c)
            return sum + (out + inp)
        }
        return c.layerCount * perLayer * maxLoras * maxRank * 2
    }
}
