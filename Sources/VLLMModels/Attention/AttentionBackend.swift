/// Where attention and KV-cache writes happen (vLLM's `AttentionBackend`): the model computes
/// Q, K and V (rotated) for a chunk's tokens; the backend stores K/V into the paged cache and
/// attends. Another device's backend replaces this one without the model's layers changing.
protocol AttentionBackend: Sendable {
    /// Writes token i's K and V rows (`kvHeadCount × headDim` floats each, at `keys`/`values`
    /// + i × that) into its slot of `layer`.
    func storeKV(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                 tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache)
    /// Causal attention of each token's query heads over its sequence's cached positions up to
    /// its own (the last `window` of them when given), written to `output` (same layout as `queries`).
    /// `sinks` (one per query head): learned logits that join each head's softmax without a value.
    func attend(layer: Int, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                tokens: [BatchChunk.Token], inputs: [SequenceInput], kv: PagedKVCache, window: Int?, sinks: [Float]?)
}
