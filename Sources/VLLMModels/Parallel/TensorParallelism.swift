/// The collective operations between the ranks of a tensor-parallel group (what vLLM's
/// `GroupCoordinator` gives a model layer). Every rank calls each one in the same order.
public protocol TensorParallelCommunicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `count` floats at `buffer` by their sum over the ranks. The result is the same on
    /// every rank, bit for bit: the ranks' values are added in rank order (a reduction tree
    /// could add them in another order on each rank, and the ranks' residual streams would drift
    /// apart).
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// Rank 0 receives each rank's `bytes[r]` bytes, in rank order, at `out`; the other ranks
    /// send theirs and pass nil.
    func gather(_ local: UnsafeRawPointer, bytes: [Int], into out: UnsafeMutableRawPointer?)
}

/// The part of a model one rank of a tensor-parallel group holds: Megatron's split, as vLLM
/// makes it. Q, K, V, gate and up are split by output rows (column-parallel: each rank computes
/// its heads and its share of the MLP), the attention output and down projections by input
/// columns (row-parallel: each rank's partial sums are added across ranks, one all-reduce each
/// per layer), and the embedding and LM head by vocabulary rows (each rank looks up and scores
/// its share; lookups are added across ranks, scores gathered on rank 0 to sample). With fewer KV
/// heads than ranks, each KV head is held by `size / kvHeads` ranks.
public struct TensorParallelShard: Sendable, Equatable {
    public let rank: Int
    public let size: Int

    public init(rank: Int, size: Int) {
        precondition(size >= 1 && (0..<size).contains(rank))
        self.rank = rank
        self.size = size
    }

    /// Rank `r`'s part of `n` items: an even split (vocabulary rows may differ by one).
    public func part(of n: Int, rank r: Int? = nil) -> Range<Int> {
        let r = r ?? rank
        return n * r / size ..< n * (r + 1) / size
    }

    /// The rows this rank holds of Q (its query heads × head size), of K and V (its KV heads ×
    /// head size) and of the MLP's gate and up (its share of the intermediate size); the same
    /// ranges are the input columns of the attention output and down projections.
    func rows(_ c: ModelConfig) -> (q: Range<Int>, kv: Range<Int>, mlp: Range<Int>) {
        let hd = c.headDim, heads = part(of: c.headCount), kvHeads = kvHeads(of: c.kvHeadCount)
        return (heads.lowerBound * hd ..< heads.upperBound * hd, kvHeads.lowerBound * hd ..< kvHeads.upperBound * hd,
                part(of: c.intermediateSize))
    }

    /// The KV heads this rank holds.
    func kvHeads(of count: Int) -> Range<Int> {
        if count >= size { return part(of: count) }
        let head = rank * count / size
        return head ..< head + 1
    }

    /// The shape this rank computes with: its query and KV heads and its share of the MLP. The
    /// vocabulary stays whole (the engine samples over all of it).
    func config(_ c: ModelConfig, path: String) throws(ModelLoadError) -> ModelConfig {
        func refuse(_ reason: String) -> ModelLoadError { .unsupported(path: path, reason: reason) }
        // vLLM's words for the first two.
        guard c.headCount % size == 0 else {
            throw refuse("Total number of attention heads (\(c.headCount)) must be divisible by tensor parallel size (\(size)).")
        }
        guard c.kvHeadCount % size == 0 || size % c.kvHeadCount == 0 else {
            throw refuse("Total number of KV heads (\(c.kvHeadCount)) must be divisible by tensor parallel size (\(size)) or the other way round.")
        }
        guard c.intermediateSize % size == 0 else {
            throw refuse("the MLP's intermediate size (\(c.intermediateSize)) must be divisible by tensor parallel size (\(size))")
        }
        guard c.moe == nil else { throw refuse("tensor parallelism of mixture-of-experts models is not supported yet") }
        var s = c
        s.headCount = c.headCount / size
        s.kvHeadCount = kvHeads(of: c.kvHeadCount).count
        s.intermediateSize = c.intermediateSize / size
        return s
    }
}
