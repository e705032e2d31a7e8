import CKernels

/// Element type of the KV cache (`--kv-cache-dtype`). fp16 halves the bytes attention streams
/// per cached position, which is what bounds batched decode; float32 keeps activations exact.
public enum KVCacheDType: String, Sendable {
    case float16, float32

    /// Bytes per element.
    public var size: Int { self == .float16 ? 2 : 4 }

    /// The CKernels type id (`VK_TYPE_F16` / `VK_TYPE_F32`).
    var kernelType: Int32 { Int32(self == .float16 ? VK_TYPE_F16.rawValue : VK_TYPE_F32.rawValue) }
}

/// The KV cache of every sequence, in fixed-size blocks of one preallocated pool (PagedAttention).
///
/// Layout: [slot][block][kvHead][blockSize][headDim] for keys and the same for values, where a
/// block holds one KV cache group's layers (`KVCacheLayout`), layer l in slot `slot(of: l)`; so
/// one head's positions inside a block are contiguous and a group's block table maps a
/// sequence's logical blocks to physical ones. Memory is reserved up front but only touched as
/// blocks are written.
public final class PagedKVCache: @unchecked Sendable {
    public let numBlocks: Int
    public let blockSize: Int
    public let layout: KVCacheLayout
    public let kvHeadCount: Int
    public let headDim: Int
    public let dtype: KVCacheDType
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    /// Bytes of each of `keys` and `values`.
    private let bufferBytes: Int

    public init(config: ModelConfig, layout: KVCacheLayout? = nil, numBlocks: Int, blockSize: Int, dtype: KVCacheDType = .float16) {
        precondition(numBlocks > 0 && blockSize > 0)
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.dtype = dtype
        self.layout = layout ?? KVCacheLayout(config: config, hybrid: false)
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        bufferBytes = self.layout.slotsPerBlock * numBlocks * kvHeadCount * blockSize * headDim * dtype.size
        keys = .allocate(byteCount: bufferBytes, alignment: 64)
        values = .allocate(byteCount: bufferBytes, alignment: 64)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Gives the cache's memory pages back to the system (sleep mode): their contents are lost
    /// and read as zeros until written again. Only pages wholly inside the buffers go.
    public func releaseMemory() {
        for buffer in [keys, values] { dropWholePages(buffer, byteCount: bufferBytes) }
    }

    /// Bytes one block takes (keys and values of one group's layers).
    public static func bytesPerBlock(config c: ModelConfig, layout: KVCacheLayout, blockSize: Int, dtype: KVCacheDType) -> Int {
        2 * layout.slotsPerBlock * c.kvHeadCount * blockSize * c.headDim * dtype.size
    }

    /// Elements between the same head's rows of consecutive blocks.
    public var blockStride: Int { kvHeadCount * blockSize * headDim }

    /// One head's keys in block 0 of `layer`; block b is `b * blockStride` elements further.
    func keyBase(layer: Int, kvHead: Int) -> UnsafeMutableRawPointer {
        keys + (layout.slot(of: layer) * numBlocks * blockStride + kvHead * blockSize * headDim) * dtype.size
    }

    func valueBase(layer: Int, kvHead: Int) -> UnsafeMutableRawPointer {
        values + (layout.slot(of: layer) * numBlocks * blockStride + kvHead * blockSize * headDim) * dtype.size
    }

    /// Stores `headDim` floats at element offset `offset` from `base`, converting to the cache's type.
    func store(_ row: UnsafePointer<Float>, at base: UnsafeMutableRawPointer, offset: Int) {
        switch dtype {
        case .float32: (base.assumingMemoryBound(to: Float.self) + offset).update(from: row, count: headDim)
        case .float16: vk_f32_to_f16(row, base.assumingMemoryBound(to: UInt16.self) + offset, Int64(headDim))
        }
    }

    /// Bytes of one block packed for the offloading tier: each slot's keys, then its values.
    public var packedBlockBytes: Int { 2 * layout.slotsPerBlock * blockStride * dtype.size }

    /// Packs block `block`'s keys and values into `dst` (`packedBlockBytes`).
    public func exportBlock(_ block: Int, to dst: UnsafeMutableRawPointer) {
        let bytes = blockStride * dtype.size
        for slot in 0..<layout.slotsPerBlock {
            let at = slot * numBlocks * bytes + block * bytes
            (dst + 2 * slot * bytes).copyMemory(from: keys + at, byteCount: bytes)
            (dst + (2 * slot + 1) * bytes).copyMemory(from: values + at, byteCount: bytes)
        }
    }

    /// Unpacks what `exportBlock` wrote into block `block`.
    public func importBlock(_ block: Int, from src: UnsafeRawPointer) {
        let bytes = blockStride * dtype.size
        for slot in 0..<layout.slotsPerBlock {
            let at = slot * numBlocks * bytes + block * bytes
            (keys + at).copyMemory(from: src + 2 * slot * bytes, byteCount: bytes)
            (values + at).copyMemory(from: src + (2 * slot + 1) * bytes, byteCount: bytes)
        }
    }

    /// Copies block `src` into block `dst` in every slot (copy-on-write of a shared block).
    public func copyBlock(from src: Int, to dst: Int) {
        let bytes = blockStride * dtype.size
        for slot in 0..<layout.slotsPerBlock {
            let base = slot * numBlocks * bytes
            (keys + base + dst * bytes).copyMemory(from: keys + base + src * bytes, byteCount: bytes)
            (values + base + dst * bytes).copyMemory(from: values + base + src * bytes, byteCount: bytes)
        }
    }
}

/// One sequence's part of a forward batch: new tokens starting at `firstPosition`, its block
/// table per KV cache group (physical block per logical block, covering every position up to the
/// last new one; entries a sliding window has dropped are never read), and whether to return
/// next-token logits after its last new token.
public struct SequenceInput: Sendable {
    public var tokens: [Int]
    public var firstPosition: Int
    public var blockTables: [[Int32]]
    public var needsLogits: Bool
    /// Return the logits after every new token, not only the last (prompt logprobs);
    /// implies `needsLogits`.
    public var needsAllLogits: Bool
    /// The LoRA adapter applied to this sequence's tokens; nil: the base model.
    public var lora: LoRAAdapter?
    /// The sequence's prompt as embeddings: positions below its row count take those rows
    /// instead of their (placeholder) tokens' embeddings.
    public var promptEmbeddings: PromptEmbeddings?
    /// Names the sequence from step to step (the engine's request id): a tensor-parallel group
    /// sends only the change of its block tables by it.
    public var sequenceID: String?

    public init(tokens: [Int], firstPosition: Int, blockTables: [[Int32]], needsLogits: Bool = true,
                needsAllLogits: Bool = false, lora: LoRAAdapter? = nil, promptEmbeddings: PromptEmbeddings? = nil,
                sequenceID: String? = nil) {
        self.sequenceID = sequenceID
        self.tokens = tokens
        self.firstPosition = firstPosition
        self.blockTables = blockTables
        self.needsLogits = needsLogits || needsAllLogits
        self.needsAllLogits = needsAllLogits
        self.lora = lora
        self.promptEmbeddings = promptEmbeddings
    }

    /// A sequence in a cache of one group (every layer in one block table).
    public init(tokens: [Int], firstPosition: Int, blockTable: [Int32], needsLogits: Bool = true,
                needsAllLogits: Bool = false, lora: LoRAAdapter? = nil, promptEmbeddings: PromptEmbeddings? = nil) {
        self.init(tokens: tokens, firstPosition: firstPosition, blockTables: [blockTable], needsLogits: needsLogits,
                  needsAllLogits: needsAllLogits, lora: lora, promptEmbeddings: promptEmbeddings)
    }

    /// Logit rows this input produces.
    public var numLogitRows: Int { needsAllLogits ? tokens.count : needsLogits ? 1 : 0 }
}
