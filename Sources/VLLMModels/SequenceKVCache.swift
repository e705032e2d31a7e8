/// Keys and values of one sequence: [layer][kvHead][position][headDim], so attention streams
/// each head's positions contiguously.
/// (The paged, block-based cache of the engine replaces this for batched serving.)
public final class SequenceKVCache: @unchecked Sendable {
    public let capacity: Int
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    /// Positions already filled.
    public internal(set) var count = 0
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        layerCount = config.layerCount
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        let n = layerCount * capacity * kvHeadCount * headDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets every position (the storage is reused).
    public func reset() { count = 0 }

    /// Position 0 of one head's keys; position p is `p * headDim` floats further.
    func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        keys + ((layer * kvHeadCount + kvHead) * capacity) * headDim
    }

    func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        values + ((layer * kvHeadCount + kvHead) * capacity) * headDim
    }
}
