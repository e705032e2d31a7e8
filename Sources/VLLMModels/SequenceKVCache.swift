/// Keys and values of one sequence, contiguous per layer: [layer][position][kvHeads × headDim].
/// (The paged, block-based cache of the engine replaces this for batched serving.)
public final class SequenceKVCache: @unchecked Sendable {
    public let capacity: Int
    public let layerCount: Int
    public let kvDim: Int
    /// Positions already filled.
    public internal(set) var count = 0
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        layerCount = config.layerCount
        kvDim = config.kvHeadCount * config.headDim
        let n = layerCount * capacity * kvDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets every position (the storage is reused).
    public func reset() { count = 0 }

    func key(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * capacity + position) * kvDim
    }

    func value(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * capacity + position) * kvDim
    }
}
