/// The free blocks, as an intrusive doubly-linked list threaded through `KVCacheBlock`.
///
/// It doubles as the eviction order of the prefix cache: freed blocks go to the tail and new
/// allocations take from the head, so the least recently freed block (which may still hold
/// cached contents) is reused first. A prefix-cache hit on a free block takes it out of the
/// middle in O(1).
public struct FreeKVCacheBlockQueue {
    public private(set) var count = 0
    private var head: KVCacheBlock?
    private var tail: KVCacheBlock?

    /// A queue holding `blocks` in order (the first is evicted first).
    public init(_ blocks: [KVCacheBlock] = []) {
        for block in blocks { append(block) }
    }

    public var isEmpty: Bool { count == 0 }

    /// Takes the block at the head (the next to evict), or nil when empty.
    public mutating func popFront() -> KVCacheBlock? {
        guard let block = head else { return nil }
        remove(block)
        return block
    }

    /// Unlinks `block`, which must be in this queue.
    public mutating func remove(_ block: KVCacheBlock) {
        precondition(block.isInFreeQueue, "block \(block.blockID) is not in the free queue")
        let prev = block.prevFree, next = block.nextFree
        if let prev { prev.nextFree = next } else { head = next }
        if let next { next.prevFree = prev } else { tail = prev }
        block.prevFree = nil
        block.nextFree = nil
        block.isInFreeQueue = false
        count -= 1
    }

    /// Links `block` at the tail (the last to evict); it must not already be queued.
    public mutating func append(_ block: KVCacheBlock) {
        precondition(!block.isInFreeQueue, "block \(block.blockID) is already in the free queue")
        block.prevFree = tail
        block.nextFree = nil
        if let tail { tail.nextFree = block } else { head = block }
        tail = block
        block.isInFreeQueue = true
        count += 1
    }

    /// The queued blocks from head to tail (for tests and diagnostics; O(n)).
    public var blocks: [KVCacheBlock] {
        var out: [KVCacheBlock] = []
        out.reserveCapacity(count)
        var cursor = head
        while let block = cursor { out.append(block); cursor = block.nextFree }
        return out
    }
}
