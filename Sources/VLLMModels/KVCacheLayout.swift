/// How the layers' KV shares the paged cache (vLLM's KV cache groups of its hybrid KV cache
/// manager). Layers with the same attention window form groups of equal size; each group has its
/// own block table per sequence, and a physical block holds one group's layers (`slotsPerBlock`
/// of them) for `blockSize` positions. A sliding-window group drops the blocks that fall behind
/// its window, so its layers cost only the window; full-attention groups keep every block.
///
/// A model whose layers all attend alike is one group of every layer: the cache is laid out as
/// it would be without groups.
public struct KVCacheLayout: Sendable, Equatable {
    /// The layers of each group, in order.
    public let groups: [[Int]]
    /// Each group's attention window (nil: full attention).
    public let windows: [Int?]
    /// Layer slots in one physical block: the size of the largest group.
    public let slotsPerBlock: Int
    private let groupOfLayer: [Int]
    private let slotOfLayer: [Int]

    /// The groups of `config`: one per run of `slotsPerBlock` layers of each window (the size of
    /// the smallest kind, so no group is mostly padding, as vLLM chooses); one group of every
    /// layer when the layers attend alike or `hybrid` is off (windows then still limit what
    /// attention reads, but every position's KV is kept).
    public init(config: ModelConfig, hybrid: Bool = true) {
        let layers = Array(0..<config.layerCount)
        let windowed = layers.filter { config.slidingWindow(layer: $0) != nil }
        if !hybrid || windowed.isEmpty {
            self.init(groups: [layers], windows: [nil])
        } else if windowed.count == layers.count {
            self.init(groups: [layers], windows: [config.slidingWindow])
        } else {
            let full = layers.filter { config.slidingWindow(layer: $0) == nil }
            let size = min(full.count, windowed.count)
            func chunks(_ l: [Int]) -> [[Int]] { stride(from: 0, to: l.count, by: size).map { Array(l[$0 ..< min($0 + size, l.count)]) } }
            let f = chunks(full), w = chunks(windowed)
            self.init(groups: f + w, windows: Array(repeating: nil, count: f.count) + Array(repeating: config.slidingWindow, count: w.count))
        }
    }

    public init(groups: [[Int]], windows: [Int?]) {
        self.groups = groups
        self.windows = windows
        slotsPerBlock = groups.map(\.count).max()!
        let count = (groups.joined().max() ?? -1) + 1
        var g = [Int](repeating: 0, count: count), s = g
        for (i, group) in groups.enumerated() {
            for (j, layer) in group.enumerated() { g[layer] = i; s[layer] = j }
        }
        groupOfLayer = g
        slotOfLayer = s
    }

    /// The part a pipeline stage holding `layers` keeps: the same groups (block tables stay the
    /// engine's), each with only its layers among them, so a block holds only those.
    public func restricted(to layers: Range<Int>) -> KVCacheLayout {
        KVCacheLayout(groups: groups.map { $0.filter(layers.contains) }, windows: windows)
    }

    public var groupCount: Int { groups.count }
    public func group(of layer: Int) -> Int { groupOfLayer[layer] }
    public func slot(of layer: Int) -> Int { slotOfLayer[layer] }
}
