/// Activation buffers for one chunk of up to `tokens` tokens, allocated once per model.
final class ForwardBuffers: @unchecked Sendable {
    let x, xn, q, k, v, attn, tmp, gate, up: UnsafeMutablePointer<Float>
    /// Rotation angles per token: of the global layers' rope, and of the local layers' when
    /// they have their own (Gemma 3).
    let cos, sin, localCos, localSin: UnsafeMutablePointer<Float>
    /// Final-norm hidden states and logits of the rows that need logits; grown on demand and
    /// kept, so steady-state steps allocate nothing.
    private(set) var finalHidden = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var logits = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var logitRows = 0
    private let all: [UnsafeMutablePointer<Float>]

    init(config c: ModelConfig, tokens t: Int) {
        let qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = alloc(t * c.hiddenSize); xn = alloc(t * c.hiddenSize); tmp = alloc(t * c.hiddenSize)
        q = alloc(t * qDim); attn = alloc(t * qDim)
        k = alloc(t * kvDim); v = alloc(t * kvDim)
        gate = alloc(t * c.intermediateSize); up = alloc(t * c.intermediateSize)
        cos = alloc(t * c.headDim / 2); sin = alloc(t * c.headDim / 2)
        localCos = alloc(t * c.headDim / 2); localSin = alloc(t * c.headDim / 2)
        all = [x, xn, tmp, q, attn, k, v, gate, up, cos, sin, localCos, localSin]
    }

    func reserveLogits(rows: Int, hidden: Int, vocab: Int) {
        // A step with logits for every prompt row (prompt logprobs) needs a large buffer once;
        // later steps give it back rather than keep hundreds of MiB.
        let shrink = logitRows > 1024 && rows * 4 < logitRows
        guard rows > logitRows || shrink else { return }
        finalHidden.deallocate()
        logits.deallocate()
        finalHidden = .allocate(capacity: rows * hidden)
        logits = .allocate(capacity: rows * vocab)
        logitRows = rows
    }

    deinit {
        all.forEach { $0.deallocate() }
        finalHidden.deallocate()
        logits.deallocate()
    }
}
