/// One physical block of the paged KV cache: `blockSize` token slots in every layer's K and V
/// tensors. The object is pure bookkeeping; the tensors live in the model runner, indexed by
/// `blockID`.
public final class KVCacheBlock {
    /// Index of the block in the KV tensors, 0..<numBlocks.
    public let blockID: Int
    /// How many request block tables hold this block. 0 means free (it sits in the free queue,
    /// possibly still holding reusable cached contents).
    public internal(set) var refCount = 0
    /// Set while the block is full and registered in the prefix cache; cleared on eviction.
    public internal(set) var blockHash: BlockHash?
    /// Slots holding KV (written or scheduled to be written this step); kept by the pool so
    /// the waste metric costs O(1) per step.
    public internal(set) var numFilledSlots = 0

    // Intrusive links of `FreeKVCacheBlockQueue`: no per-node allocation, and O(1) removal of
    // a block from the middle when a prefix-cache hit revives it. `next` is strong, so the
    // chain from the queue's head keeps every queued block alive; `prev` is unowned(unsafe)
    // so there is no reference cycle (a weak reference would move every block's refcount to
    // a side table and make all retains slow).
    unowned(unsafe) var prevFree: KVCacheBlock?
    var nextFree: KVCacheBlock?
    /// Whether the block is currently linked into a free queue (links alone can't tell a lone
    /// member from a block outside any queue).
    var isInFreeQueue = false

    public init(blockID: Int) {
        self.blockID = blockID
    }
}
