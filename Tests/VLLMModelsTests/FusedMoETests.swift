import Foundation
import Testing
import VLLMCompute
@testable import VLLMModels

/// The mixture-of-experts layer against the definition, token by token in double: its top-k
/// experts by softmax probability (renormalized or not), each expert's gated MLP computed on its
/// own, the outputs summed with those weights. Random shapes, batches of 1 to 64 tokens, routers
/// that spread tokens over every expert and routers that send every token to the same few (the
/// other experts get none); with and without a shared expert behind a sigmoid gate.
@Suite struct FusedMoETests {
    /// F32 matrices that live as long as the test.
    final class Store {
        var buffers: [UnsafeMutablePointer<Float>] = []
        func matrix(_ values: [Float], rows: Int, columns: Int) -> WeightMatrix {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: values.count)
            p.initialize(from: values, count: values.count)
            buffers.append(p)
            return WeightMatrix(type: .f32, data: UnsafeRawPointer(p), rows: rows, columns: columns)
        }
        deinit { buffers.forEach { $0.deallocate() } }
    }

    static func random(_ n: Int, _ rng: inout SplitMix64, scale: Float) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale..<scale, using: &rng) }
    }

    /// out = W x in double, W rows × columns row-major.
    static func apply(_ w: [Float], _ x: [Double], rows: Int) -> [Double] {
        let c = x.count
        return (0..<rows).map { r in (0..<c).reduce(0.0) { $0 + Double(w[r * c + $1]) * x[$1] } }
    }

    @Test func everyTokenGetsTheWeightedSumOfItsTopKExperts() {
        var rng = SplitMix64(seed: 42)
        let pool = ThreadPool(threadCount: 2)
        let matmul = MatmulRunner(pool: pool)
        for round in 0..<24 {
            let store = Store()
            let h = [32, 64, 48][round % 3], f = [64, 32, 96][round % 3], e = [4, 8, 6][round % 3]
            let topK = [2, 1, 3, 2][round % 4], renormalize = round % 2 == 0
            // Rounds 3k+1 send every token to experts 0..<k (a feature every token has, which their
            // router rows weigh heavily); the others spread tokens by random router rows.
            let concentrated = round % 3 == 1
            let routerValues: [Float] = (0..<e).flatMap { ex -> [Float] in
                var row = Self.random(h, &rng, scale: concentrated ? 0.05 : 1)
                row[0] = concentrated ? (ex < topK ? 8 - Float(ex) : -8) : row[0]
                return row
            }
            var gates: [[Float]] = [], ups: [[Float]] = [], downs: [[Float]] = [], experts: [ExpertWeights] = []
            for _ in 0..<e {
                gates.append(Self.random(f * h, &rng, scale: 0.3)); ups.append(Self.random(f * h, &rng, scale: 0.3))
                downs.append(Self.random(h * f, &rng, scale: 0.3))
                experts.append(ExpertWeights(gate: store.matrix(gates.last!, rows: f, columns: h),
                                             up: store.matrix(ups.last!, rows: f, columns: h),
                                             down: store.matrix(downs.last!, rows: h, columns: f)))
            }
            // Every other round adds a shared expert (Qwen2-MoE), wider than the others, behind a sigmoid gate.
            let fs = f + 16
            let sharedValues = round % 2 == 1 ? (Self.random(fs * h, &rng, scale: 0.3), Self.random(fs * h, &rng, scale: 0.3),
                                                 Self.random(h * fs, &rng, scale: 0.3), Self.random(h, &rng, scale: 0.5)) : nil
            let shared = sharedValues.map { v in
                (expert: ExpertWeights(gate: store.matrix(v.0, rows: fs, columns: h), up: store.matrix(v.1, rows: fs, columns: h),
                                       down: store.matrix(v.2, rows: h, columns: fs)),
                 gate: store.matrix(v.3, rows: 1, columns: h))
            }
            let moe = FusedMoE(router: store.matrix(routerValues, rows: e, columns: h), experts: experts,
                               routing: MoERouting(topK: topK, renormalize: renormalize), shared: shared)
            let scratch = MoEScratch(maxRows: 64, hidden: h, intermediate: fs, experts: e)
            let rows = [1, 2, 7, 64, 33, 5][round % 6]
            var x = Self.random(rows * h, &rng, scale: 1)
            if concentrated { for r in 0..<rows { x[r * h] = 1 } }
            var out = [Float](repeating: .nan, count: rows * h)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { moe.forward(xp.baseAddress!, rows: rows, out: $0.baseAddress!, matmul: matmul, scratch: scratch) }
            }
            var used = Set<Int>()
            for r in 0..<rows {
                let xr = x[(r * h)..<((r + 1) * h)].map(Double.init)
                let logits = Self.apply(routerValues, xr, rows: e)
                let mx = logits.max()!, probs = logits.map { exp($0 - mx) }, sum = probs.reduce(0, +)
                let top = (0..<e).sorted { probs[$0] > probs[$1] }.prefix(moe.routing.topK)
                used.formUnion(top)
                let norm = renormalize ? top.reduce(0.0) { $0 + probs[$1] } : sum
                var want = [Double](repeating: 0, count: h)
                for ex in top {
                    let g = Self.apply(gates[ex], xr, rows: f), u = Self.apply(ups[ex], xr, rows: f)
                    let a = zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }
                    let y = Self.apply(downs[ex], a, rows: h)
                    for i in 0..<h { want[i] += probs[ex] / norm * y[i] }
                }
                if let v = sharedValues {
                    let g = Self.apply(v.0, xr, rows: fs), u = Self.apply(v.1, xr, rows: fs)
                    let y = Self.apply(v.2, zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }, rows: h)
                    let s = 1 / (1 + exp(-Self.apply(v.3, xr, rows: 1)[0]))
                    for i in 0..<h { want[i] += s * y[i] }
                }
                let worst = (0..<h).map { abs(Double(out[r * h + $0]) - want[$0]) }.max()!
                let scale = want.map(abs).max()! + 1e-6
                #expect(worst <= 1e-4 * scale + 1e-6, "round \(round) row \(r): worst \(worst) of \(scale)")
            }
            if concentrated {
                #expect(used == Set(0..<topK), "round \(round): \(used.sorted())")
            } else if rows == 64 {
                #expect(used.count == e, "round \(round): 64 tokens spread over every expert (\(used.sorted()))")
            }
        }
    }

    /// Routing alone: weights sum to 1 when renormalized, to the chosen probabilities otherwise;
    /// exactly k experts per token; ties go to the lower expert index.
    @Test func routingPicksTopKAndNormalizes() {
        let logits: [Float] = [0, 0, 0, 0,  3, 1, 2, -1]
        for renormalize in [true, false] {
            let a = logits.withUnsafeBufferPointer {
                FusedMoE.route(logits: $0.baseAddress!, rows: 2, experts: 4, MoERouting(topK: 2, renormalize: renormalize))
            }
            #expect(a[0].map(\.row) == [0, 1] && a[1].map(\.row) == [0] && a[2].map(\.row) == [1] && a[3].isEmpty)
            let row1 = a[0].filter { $0.row == 1 }.map(\.weight) + a[2].filter { $0.row == 1 }.map(\.weight)
            let p = [3, 1, 2, -1].map { exp(Double($0)) }, sum = p.reduce(0, +)
            let want = renormalize ? [p[0] / (p[0] + p[2]), p[2] / (p[0] + p[2])] : [p[0] / sum, p[2] / sum]
            for (g, w) in zip(row1, want) { #expect(abs(Double(g) - w) < 1e-6) }
            #expect(abs(Double(a[0][0].weight) - (renormalize ? 0.5 : 0.25)) < 1e-6)
        }
    }
}
