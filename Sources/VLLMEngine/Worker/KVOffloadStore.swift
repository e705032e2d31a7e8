import VLLMModels

/// Where the KV offloading tier keeps its bytes (`--kv-offloading-backend`).
public enum KVOffloadingBackend: Sendable, Equatable {
    /// Host memory outside the KV cache's budget (`native`).
    case memory
    /// A file in `directory`, kept across restarts of a server whose KV would be identical:
    /// `identity` names the model and every setting that changes KV content.
    case disk(directory: String, identity: String)
}

/// The offloading tier a worker allocates next to its KV cache.
public struct KVOffloadingConfig: Sendable, Equatable {
    public var numBlocks: Int
    public var backend: KVOffloadingBackend

    public init(numBlocks: Int, backend: KVOffloadingBackend) {
        self.numBlocks = numBlocks
        self.backend = backend
    }
}

/// A slot a persistent tier found intact at start-up.
public struct RestoredBlock: Sendable, Equatable {
    public let slot: Int
    public let hash: BlockHash
}

/// The bytes of the KV offloading tier: one packed block (`PagedKVCache.exportBlock`) per slot
/// of `KVOffloadingManager`. Called from one thread at a time (`KVOffloadCopier`'s).
public protocol KVOffloadStore: AnyObject, Sendable {
    var numSlots: Int { get }
    /// What the tier held before this process, least recently used first (empty for memory).
    var restored: [RestoredBlock] { get }
    /// Copies pool blocks into their slots.
    func store(_ transfers: [BlockTransfer], from kv: PagedKVCache)
    /// Copies slots into pool blocks; returns the pool blocks whose load failed (their KV is
    /// not what the hash says).
    func load(_ transfers: [BlockTransfer], into kv: PagedKVCache) -> Set<Int>
}

/// The tier in host memory, reserved up front and only touched as slots are written.
public final class HostKVOffloadStore: KVOffloadStore, @unchecked Sendable {
    public let numSlots: Int
    public let blockBytes: Int
    public var restored: [RestoredBlock] { [] }
    private let base: UnsafeMutableRawPointer

    public init(numSlots: Int, blockBytes: Int) {
        precondition(numSlots > 0 && blockBytes > 0)
        self.numSlots = numSlots
        self.blockBytes = blockBytes
        base = .allocate(byteCount: numSlots * blockBytes, alignment: 64)
    }

    deinit { base.deallocate() }

    public func store(_ transfers: [BlockTransfer], from kv: PagedKVCache) {
        precondition(kv.packedBlockBytes == blockBytes, "the offloading tier was sized for another KV cache")
        for s in transfers { kv.exportBlock(s.blockID, to: slot(s.slot)) }
    }

    public func load(_ transfers: [BlockTransfer], into kv: PagedKVCache) -> Set<Int> {
        precondition(kv.packedBlockBytes == blockBytes, "the offloading tier was sized for another KV cache")
        for l in transfers { kv.importBlock(l.blockID, from: slot(l.slot)) }
        return []
    }

    private func slot(_ i: Int) -> UnsafeMutableRawPointer {
        precondition(i >= 0 && i < numSlots, "offloading slot \(i) out of range")
        return base + i * blockBytes
    }
}
