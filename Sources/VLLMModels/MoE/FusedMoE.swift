import Foundation
import CKernels
import VLLMCompute

/// How router scores pick and weight experts (vLLM's `FusedMoE` options): softmax over all
/// experts, the `topK` most probable, their probabilities renormalized to sum to 1 when
/// `renormalize` (Mixtral always; Qwen3-MoE's `norm_topk_prob`).
public struct MoERouting: Sendable, Equatable, Codable {
    public var topK: Int
    public var renormalize: Bool
    public init(topK: Int, renormalize: Bool) {
        self.topK = topK
        self.renormalize = renormalize
    }
}

/// The gated activation between an expert's up and down projections.
public enum MoEActivation: Sendable, Equatable, Codable {
    case silu
    /// gpt-oss's clamped SwiGLU (`vk_swiglu_oai`).
    case swigluOAI(alpha: Float, limit: Float)
}

/// One expert: a gated MLP, down(act(gate·x, up·x)).
public struct ExpertWeights: Sendable {
    public let gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix
    public init(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix) {
        self.gate = gate
        self.up = up
        self.down = down
    }
}

/// The biases of a mixture whose router and expert projections have them (gpt-oss), each
/// expert's rows after the previous expert's.
public struct MoEBiases: Sendable {
    /// One per expert, added to the router logits.
    public let router: [Float]
    /// experts × intermediate each.
    public let gate: [Float], up: [Float]
    /// experts × hidden.
    public let down: [Float]
    public init(router: [Float], gate: [Float], up: [Float], down: [Float]) {
        (self.router, self.gate, self.up, self.down) = (router, gate, up, down)
    }
}

/// Working memory for `FusedMoE.forward` over up to `maxRows` tokens: one set serves every
/// MoE layer of a model (layers run one after another).
public final class MoEScratch: @unchecked Sendable {
    let maxRows: Int, hidden: Int, intermediate: Int, experts: Int
    /// One expert's gathered inputs and outputs, its gate and up projections; the router logits.
    let xs: UnsafeMutablePointer<Float>, ys: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>

    public init(maxRows: Int, hidden: Int, intermediate: Int, experts: Int) {
        (self.maxRows, self.hidden, self.intermediate, self.experts) = (maxRows, hidden, intermediate, experts)
        xs = .allocate(capacity: maxRows * hidden)
        ys = .allocate(capacity: maxRows * hidden)
        gate = .allocate(capacity: maxRows * intermediate)
        up = .allocate(capacity: maxRows * intermediate)
        logits = .allocate(capacity: maxRows * experts)
    }

    deinit {
        for p in [xs, ys, gate, up, logits] { p.deallocate() }
    }
}

/// A mixture-of-experts MLP (vLLM's `FusedMoE`): the router picks experts per token; tokens are
/// grouped by expert so that each expert's weights are read once per step for all the tokens
/// routed to it (batch-1 decode reads only the chosen experts), and each token's output is the
/// weighted sum of its experts' outputs. Experts are independent matrices, so they can later be
/// placed on different ranks (expert parallelism).
public struct FusedMoE: Sendable {
    public let router: WeightMatrix
    public let experts: [ExpertWeights]
    public let routing: MoERouting
    public let activation: MoEActivation
    /// An expert every token runs too, scaled by sigmoid(gate · x) (Qwen2-MoE); gate is 1 × hidden.
    public let shared: (expert: ExpertWeights, gate: WeightMatrix)?
    public let biases: MoEBiases?

    public init(router: WeightMatrix, experts: [ExpertWeights], routing: MoERouting, activation: MoEActivation = .silu,
                shared: (expert: ExpertWeights, gate: WeightMatrix)? = nil, biases: MoEBiases? = nil) {
        precondition(!experts.isEmpty && router.rows == experts.count && (1...experts.count).contains(routing.topK))
        if let b = biases {
            let f = experts[0].gate.rows, h = router.columns
            precondition(b.router.count == experts.count && b.gate.count == experts.count * f
                         && b.up.count == experts.count * f && b.down.count == experts.count * h)
        }
        self.biases = biases
        self.router = router
        self.experts = experts
        self.routing = routing
        self.activation = activation
        self.shared = shared
    }

    /// For each expert, the rows routed to it and their weights, from router logits (rows ×
    /// experts, row-major): softmax, the top k (ties to the lower index), renormalized if asked.
    public static func route(logits: UnsafePointer<Float>, rows: Int, experts: Int, _ routing: MoERouting)
        -> [[(row: Int, weight: Float)]] {
        var assigned = [[(row: Int, weight: Float)]](repeating: [], count: experts)
        var probs = [Float](repeating: 0, count: experts)
        for r in 0..<rows {
            let l = logits + r * experts
            var mx = -Float.infinity
            for e in 0..<experts { mx = max(mx, l[e]) }
            var sum: Float = 0
            for e in 0..<experts { probs[e] = expf(l[e] - mx); sum += probs[e] }
            let top = (0..<experts).sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }.prefix(routing.topK)
            let norm = routing.renormalize ? top.reduce(Float(0)) { $0 + probs[$1] } : sum
            for e in top { assigned[e].append((r, probs[e] / norm)) }
        }
        return assigned
    }

    /// out (rows × hidden) = the mixture's output for x (rows × hidden).
    public func forward(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, matmul: MatmulRunner,
                        scratch s: MoEScratch) {
        let h = router.columns
        precondition(rows <= s.maxRows && h == s.hidden && experts.count <= s.experts)
        matmul.run([MatmulJob(weight: router, x: x, y: s.logits)], m: rows, precision: .float32)
        if let b = biases { Self.addRows(b.router, offset: 0, width: experts.count, to: s.logits, rows: rows) }
        out.update(repeating: 0, count: rows * h)
        for (e, tokens) in Self.route(logits: s.logits, rows: rows, experts: experts.count, routing).enumerated() where !tokens.isEmpty {
            for (i, t) in tokens.enumerated() { (s.xs + i * h).update(from: x + t.row * h, count: h) }
            runExpert(experts[e], s.xs, rows: tokens.count, matmul: matmul, scratch: s, bias: e)
            for (i, t) in tokens.enumerated() { vk_axpy_f32(t.weight, s.ys + i * h, out + t.row * h, Int64(h)) }
        }
        guard let (expert, gate) = shared else { return }
        matmul.run([MatmulJob(weight: gate, x: x, y: s.logits)], m: rows, precision: .float32)
        runExpert(expert, x, rows: rows, matmul: matmul, scratch: s)
        for r in 0..<rows { vk_axpy_f32(1 / (1 + expf(-s.logits[r])), s.ys + r * h, out + r * h, Int64(h)) }
    }

    /// s.ys (rows × hidden) = the gated MLP `w` of x (rows × hidden), with expert `bias`'s biases
    /// when the mixture has them.
    private func runExpert(_ w: ExpertWeights, _ x: UnsafePointer<Float>, rows m: Int, matmul: MatmulRunner, scratch s: MoEScratch,
                           bias: Int? = nil) {
        let f = w.gate.rows, h = w.down.rows
        precondition(f <= s.intermediate)
        matmul.run([MatmulJob(weight: w.gate, x: x, y: s.gate), MatmulJob(weight: w.up, x: x, y: s.up)], m: m)
        // The shared expert (no index) has no biases.
        let expertBias = bias.flatMap { e in biases.map { (b: $0, e: e) } }
        if let (b, e) = expertBias {
            Self.addRows(b.gate, offset: e * f, width: f, to: s.gate, rows: m)
            Self.addRows(b.up, offset: e * f, width: f, to: s.up, rows: m)
        }
        switch activation {
        case .silu: vk_silu_mul(s.gate, s.up, s.gate, Int64(m * f))
        case let .swigluOAI(alpha, limit): vk_swiglu_oai(s.gate, s.up, s.gate, Int64(m * f), alpha, limit)
        }
        matmul.run([MatmulJob(weight: w.down, x: s.gate, y: s.ys)], m: m)
        if let (b, e) = expertBias { Self.addRows(b.down, offset: e * h, width: h, to: s.ys, rows: m) }
    }

    /// Adds bias[offset ..< offset + width] to each of `rows` rows (of `width` floats) at y.
    static func addRows(_ bias: [Float], offset: Int, width: Int, to y: UnsafeMutablePointer<Float>, rows: Int) {
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows { vk_axpy_f32(1, b.baseAddress! + offset, y + r * width, Int64(width)) }
        }
    }
}
