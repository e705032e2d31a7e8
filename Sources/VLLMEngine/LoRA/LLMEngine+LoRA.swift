import VLLMCompute
import VLLMModels

/// Loading, unloading and listing LoRA adapters. Like `step`, these run on the engine's owner
/// thread (`AsyncLLM` forwards them to its loop); only `readLoRAAdapter` may run anywhere, so
/// the slow part (reading and converting the files) can stay off the engine thread.
extension LLMEngine {
    /// Reads and checks an adapter for this engine's model without touching engine state.
    public func readLoRAAdapter(_ request: LoRARequest) throws(LoRALoadError) -> LoRAAdapter {
        guard let lora else { throw .notEnabled }
        do { return try LoRAAdapter(path: request.loraPath, model: engineCore.executor.adapterShapes, maxRank: lora.maxRank) } catch {
            let message = "Loading lora \(request.loraName) failed: \(error.description)"
            if case .notFound = error { throw .adapterMissing(message) }
            throw .adapter(message)
        }
    }

    /// Reads an adapter and registers it (vLLM's `add_lora`); logs the memory it takes.
    @discardableResult
    public func loadLoRAAdapter(_ request: LoRARequest) throws(LoRALoadError) -> LoRAAdapterInfo {
        try loadLoRAAdapter(request, log: true)
    }

    func loadLoRAAdapter(_ request: LoRARequest, log: Bool) throws(LoRALoadError) -> LoRAAdapterInfo {
        guard let manager = lora else { throw .notEnabled }
        guard manager.entry(named: request.loraName) == nil else { throw .duplicateName(request.loraName) }
        return try registerLoRAAdapter(request, readLoRAAdapter(request), log: log)
    }

    /// Registers an adapter read by `readLoRAAdapter`: its KV blocks leave the pool, the
    /// workers get its weights. A full `--max-cpu-loras` evicts the least recently used idle one.
    @discardableResult
    public func registerLoRAAdapter(_ request: LoRARequest, _ adapter: LoRAAdapter, log: Bool = true) throws(LoRALoadError) -> LoRAAdapterInfo {
        guard let manager = lora else { throw .notEnabled }
        let scheduler = engineCore.scheduler
        let (entry, evicted) = try manager.add(request, adapter, pool: scheduler.kvCacheManager.pool,
                                                inUse: { scheduler.numRequests(loraID: $0) })
        for e in evicted { engineCore.executor.removeLoRA(id: e.serial) }
        engineCore.executor.addLoRA(id: entry.serial, adapter: adapter)
        if log {
            let gone = evicted.map { " (evicted '\($0.request.loraName)')" }.joined()
            logLoRAMemory("loaded '\(request.loraName)' (rank \(adapter.rank), \(adapter.byteCount >> 10) KiB, \(entry.blocks.count) KV blocks)\(gone)")
        }
        return info(entry)
    }

    /// Unloads an adapter no unfinished request uses (vLLM's `remove_lora`); its KV blocks
    /// return to the pool.
    public func unloadLoRAAdapter(name: String) throws(LoRALoadError) {
        guard let manager = lora else { throw .notEnabled }
        guard let e = manager.entry(named: name) else { throw .notLoaded(name) }
        let users = engineCore.scheduler.numRequests(loraID: e.serial)
        guard users == 0 else { throw .inUse(name: name, requests: users) }
        manager.remove(name, pool: engineCore.scheduler.kvCacheManager.pool)
        engineCore.executor.removeLoRA(id: e.serial)
        logLoRAMemory("unloaded '\(name)'")
    }

    /// The loaded adapters, by name.
    public var loraAdapters: [LoRAAdapterInfo] {
        (lora?.entries.values.map(info) ?? []).sorted { $0.name < $1.name }
    }

    /// Bytes vLLM would preallocate for this engine's LoRA flags (0 without LoRA).
    public var loraPreallocationBytes: Int {
        lora.map { LoRAManager.preallocationBytes(config: config, maxLoras: $0.maxLoras, maxRank: $0.maxRank) } ?? 0
    }

    /// KV blocks available to requests (all blocks less those adapters hold).
    public var kvBlocksForRequests: Int { engineCore.scheduler.kvCacheManager.pool.numKVBlocks }

    /// The engine adapter id for a request's adapter, loading it from its path on first use.
    func resolveLoRA(_ request: LoRARequest?) throws(InvalidRequest) -> Int? {
        guard let request else { return nil }
        guard let manager = lora else { throw .badParams(LoRALoadError.notEnabled.description) }
        if manager.entry(named: request.loraName) == nil {
            do { try loadLoRAAdapter(request) } catch { throw .badParams(error.description) }
        }
        manager.touch(request.loraName)
        return manager.entry(named: request.loraName)!.serial
    }

    private func info(_ e: LoRAManager.Entry) -> LoRAAdapterInfo {
        LoRAAdapterInfo(name: e.request.loraName, intID: e.request.loraIntId, path: e.request.loraPath,
                        rank: e.adapter.rank, baseModelName: e.request.baseModelName ?? e.adapter.config.baseModelName,
                        bytes: e.adapter.byteCount, kvBlocks: e.blocks.count,
                        activeRequests: engineCore.scheduler.numRequests(loraID: e.serial))
    }

    /// One line: what adapters hold, the KV blocks left, and vLLM's preallocation for comparison.
    func logLoRAMemory(_ event: String) {
        guard let m = lora else { return }
        let total = engineCore.scheduler.kvCacheManager.pool.numBlocks
        let pre = loraPreallocationBytes, preBlocks = (pre + kvBlockBytes - 1) / kvBlockBytes
        logInfo("LoRA: \(event); \(m.entries.count) adapter(s) hold \(mib(m.reservedBytes)) MiB in \(m.reservedBlocks) KV blocks; "
                + "KV blocks left for requests: \(total - m.reservedBlocks) of \(total). vLLM-style preallocation "
                + "(--max-loras \(m.maxLoras) x --max-lora-rank \(m.maxRank), every target module, 16-bit) would take "
                + "\(mib(pre)) MiB = \(preBlocks) KV blocks, leaving \(max(0, total - preBlocks))\n")
    }

    private func mib(_ bytes: Int) -> String {
        let v = Double(bytes) / 1_048_576
        return v < 10 ? String(Double(Int(v * 100)) / 100) : String(Int(v.rounded()))
    }
}
