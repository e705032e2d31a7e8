import VLLMModels

/// Speculation with a smaller (or quantized) model of the same tokenizer (vLLM's draft-model
/// method): the draft runs ahead greedily, `limit` single-token steps for all requests at once,
/// over its own paged KV cache. Greedy proposals are one-hot drafts, so the target's sampling
/// of every position keeps its output unchanged whatever the draft proposes.
///
/// The draft keeps each request's KV for the tokens it last saw (the request's tokens plus its
/// own proposals but the last); the next call keeps the prefix the request still agrees with
/// (its accepted proposals) and computes only the rest.
public final class DraftModelProposer: SpeculativeProposer, @unchecked Sendable {
    public let model: any CausalLM
    private let kv: PagedKVCache
    private var freeBlocks: [Int32]
    private var sequences: [String: Sequence] = [:]

    struct Sequence {
        var blocks: [Int32] = []
        /// Tokens whose KV the draft cache holds, in order from position 0.
        var tokens: [Int] = []
    }

    /// `numBlocks` blocks of `blockSize` tokens for the draft's KV.
    public init(model: any CausalLM, numBlocks: Int, blockSize: Int, dtype: KVCacheDType) {
        self.model = model
        kv = PagedKVCache(config: model.config, layout: Self.layout(model), numBlocks: numBlocks, blockSize: blockSize, dtype: dtype)
        freeBlocks = (0..<Int32(numBlocks)).reversed().map { $0 }
    }

    public var numFreeBlocks: Int { freeBlocks.count }

    /// Every layer of the draft in every block: its block tables are its own, one per request.
    private static func layout(_ model: any CausalLM) -> KVCacheLayout { KVCacheLayout(config: model.config, hybrid: false) }

    /// Bytes one block of the draft's KV takes.
    public static func bytesPerBlock(_ model: any CausalLM, blockSize: Int, dtype: KVCacheDType) -> Int {
        PagedKVCache.bytesPerBlock(config: model.config, layout: layout(model), blockSize: blockSize, dtype: dtype)
    }

    public func propose(_ requests: [ProposalRequest], limit: Int) -> [String: [Int]] {
        let wanted = Set(requests.map(\.id))
        for id in sequences.keys where !wanted.contains(id) { release(id) }
        guard limit > 0 else { return [:] }
        // Catch each sequence up with its request, keeping the KV of the tokens both agree on.
        var active: [(id: String, input: SequenceInput)] = []
        for r in requests {
            var s = sequences[r.id] ?? Sequence()
            let agreed = zip(s.tokens, r.tokens).prefix { $0 == $1 }.count
            // The last token is always computed again: its logits give the first proposal.
            let keep = min(agreed, r.tokens.count - 1)
            s.tokens.removeLast(s.tokens.count - keep)
            let blockSize = kv.blockSize
            let needed = (r.tokens.count + limit - 1 + blockSize - 1) / blockSize
            if needed > s.blocks.count {
                guard needed - s.blocks.count <= freeBlocks.count else {
                    // No room: no proposals for this one (it frees what it held).
                    sequences[r.id] = s
                    release(r.id)
                    continue
                }
                let n = needed - s.blocks.count
                s.blocks += freeBlocks.suffix(n).reversed()
                freeBlocks.removeLast(n)
            }
            sequences[r.id] = s
            let new = Array(r.tokens[(r.tokens.startIndex + keep)...])
            active.append((r.id, SequenceInput(tokens: new, firstPosition: keep, blockTable: s.blocks)))
        }
        var proposals: [String: [Int]] = [:]
        for _ in 0..<limit where !active.isEmpty {
            let logits = model.forward(active.map(\.input), kv: kv)
            for (i, a) in active.enumerated() {
                let token = Sampler.argmaxRow(logits[i])
                proposals[a.id, default: []].append(token)
                sequences[a.id]!.tokens += a.input.tokens
                active[i].input = SequenceInput(tokens: [token], firstPosition: a.input.firstPosition + a.input.tokens.count,
                                                blockTable: a.input.blockTables[0])
            }
        }
        return proposals
    }

    private func release(_ id: String) {
        guard let s = sequences.removeValue(forKey: id) else { return }
        freeBlocks += s.blocks.reversed()
    }
}
