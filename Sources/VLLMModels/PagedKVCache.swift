/// The KV cache of every sequence, in fixed-size blocks of one preallocated pool (PagedAttention).
///
/// Layout: [layer][block][kvHead][blockSize][headDim] for keys and the same for values, so one
/// head's positions inside a block are contiguous and a block table maps a sequence's logical
/// blocks to physical ones. Memory is reserved up front but only touched as blocks are written.
public final class PagedKVCache: @unchecked Sendable {
    public let numBlocks: Int
    public let blockSize: Int
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(config: LlamaConfig, numBlocks: Int, blockSize: Int) {
        precondition(numBlocks > 0 && blockSize > 0)
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        layerCount = config.layerCount
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        let n = layerCount * numBlocks * kvHeadCount * blockSize * headDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes one block takes (keys and values, all layers).
    public static func bytesPerBlock(config c: LlamaConfig, blockSize: Int) -> Int {
        2 * c.layerCount * c.kvHeadCount * blockSize * c.headDim * MemoryLayout<Float>.size
    }

    /// Floats between the same head's rows of consecutive blocks.
    public var blockStride: Int { kvHeadCount * blockSize * headDim }

    /// One head's keys in block 0 of `layer`; block b is `b * blockStride` floats further.
    func keyBase(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        keys + layer * numBlocks * blockStride + kvHead * blockSize * headDim
    }

    func valueBase(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        values + layer * numBlocks * blockStride + kvHead * blockSize * headDim
    }

    /// Copies block `src` into block `dst` in every layer (copy-on-write of a shared block).
    public func copyBlock(from src: Int, to dst: Int) {
        for layer in 0..<layerCount {
            let base = layer * numBlocks * blockStride
            (keys + base + dst * blockStride).update(from: keys + base + src * blockStride, count: blockStride)
            (values + base + dst * blockStride).update(from: values + base + src * blockStride, count: blockStride)
        }
    }
}

/// One sequence's part of a forward batch: new tokens starting at `firstPosition`, its block
/// table (physical block per logical block, covering every position up to the last new one), and
/// whether to return next-token logits after its last new token.
public struct SequenceInput: Sendable {
    public var tokens: [Int]
    public var firstPosition: Int
    public var blockTable: [Int32]
    public var needsLogits: Bool
    /// Return the logits after every new token, not only the last (prompt logprobs);
    /// implies `needsLogits`.
    public var needsAllLogits: Bool

    public init(tokens: [Int], firstPosition: Int, blockTable: [Int32], needsLogits: Bool = true,
                needsAllLogits: Bool = false) {
        self.tokens = tokens
        self.firstPosition = firstPosition
        self.blockTable = blockTable
        self.needsLogits = needsLogits || needsAllLogits
        self.needsAllLogits = needsAllLogits
    }

    /// Logit rows this input produces.
    var numLogitRows: Int { needsAllLogits ? tokens.count : needsLogits ? 1 : 0 }
}
