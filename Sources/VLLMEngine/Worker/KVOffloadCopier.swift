import Dispatch
import VLLMModels

/// Runs the offloading tier's copies on a thread of their own, in order, so a step's stores
/// overlap the steps after it instead of delaying them. Loads wait for every store queued
/// before them (a slot may be loaded right after it was written); a step that writes into a
/// block whose store may still be running waits for the stores first.
///
/// Used from the model runner's thread only; the queue's closures touch only the store and
/// blocks no step writes meanwhile.
final class KVOffloadCopier: @unchecked Sendable {
    let store: any KVOffloadStore
    private let queue = DispatchQueue(label: "vllm.kv-offload")
    /// Pool blocks of stores queued since the last wait; they may still be being read.
    private var storing: Set<Int> = []

    init(_ store: any KVOffloadStore) { self.store = store }

    deinit { queue.sync {} }

    /// Queues copies of pool blocks into the tier; returns at once.
    func store(_ transfers: [BlockTransfer], from kv: PagedKVCache) {
        guard !transfers.isEmpty else { return }
        storing.formUnion(transfers.map(\.blockID))
        queue.async { [store] in store.store(transfers, from: kv) }
    }

    /// Copies tier slots into pool blocks once the stores before them have run; returns the
    /// blocks whose load failed.
    func load(_ transfers: [BlockTransfer], into kv: PagedKVCache) -> Set<Int> {
        defer { storing = [] }
        return queue.sync { store.load(transfers, into: kv) }
    }

    /// Returns once no queued store reads any of `blocks`.
    func waitForStores(reading blocks: @autoclosure () -> [Int]) {
        guard !storing.isEmpty, blocks().contains(where: storing.contains) else { return }
        waitForStores()
    }

    /// Returns once every queued store has run.
    func waitForStores() {
        queue.sync {}
        storing = []
    }
}
