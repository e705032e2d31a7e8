/// A paged cache that serves a single sequence, with its blocks in order (the one-sequence
/// paths: `vllm bench latency`, reference tests).
public final class SequenceKVCache: @unchecked Sendable {
    public let storage: PagedKVCache
    public var capacity: Int { storage.numBlocks * storage.blockSize }
    /// Positions already filled.
    public internal(set) var count = 0
    let blockTable: [Int32]

    public init(config: ModelConfig, capacity: Int, blockSize: Int = 16, dtype: KVCacheDType = .float16) {
        let blocks = max(1, (capacity + blockSize - 1) / blockSize)
        storage = PagedKVCache(config: config, numBlocks: blocks, blockSize: blockSize, dtype: dtype)
        blockTable = (0..<blocks).map { Int32($0) }
    }

    /// Forgets every position (the storage is reused).
    public func reset() { count = 0 }
}
