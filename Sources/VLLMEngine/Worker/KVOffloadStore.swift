import VLLMModels

/// The bytes of the KV offloading tier in host memory (`--kv-offloading-backend native`): one
/// packed block (`PagedKVCache.exportBlock`) per slot of `KVOffloadingManager`. Memory is
/// reserved up front and only touched as slots are written.
public final class KVOffloadStore: @unchecked Sendable {
    public let numSlots: Int
    public let blockBytes: Int
    private let base: UnsafeMutableRawPointer

    public init(numSlots: Int, blockBytes: Int) {
        precondition(numSlots > 0 && blockBytes > 0)
        self.numSlots = numSlots
        self.blockBytes = blockBytes
        base = .allocate(byteCount: numSlots * blockBytes, alignment: 64)
    }

    deinit { base.deallocate() }

    /// Runs a step's transfers: stores first (they read blocks about to be reused), then loads.
    public func transfer(stores: [BlockTransfer], loads: [BlockTransfer], kv: PagedKVCache) {
        precondition(kv.packedBlockBytes == blockBytes, "the offloading tier was sized for another KV cache")
        for s in stores { kv.exportBlock(s.blockID, to: slot(s.slot)) }
        for l in loads { kv.importBlock(l.blockID, from: slot(l.slot)) }
    }

    private func slot(_ i: Int) -> UnsafeMutableRawPointer {
        precondition(i >= 0 && i < numSlots, "offloading slot \(i) out of range")
        return base + i * blockBytes
    }
}
