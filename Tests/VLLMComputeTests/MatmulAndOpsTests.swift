import VLLMCompute
import CKernels
import Foundation
import Testing

extension KernelTests {
@Suite
struct MatmulTests {
    static let shapes: [(m: Int, r0: Int, r1: Int)] = [
        (1, 0, 37), (2, 3, 20), (3, 5, 6), (4, 0, 16), (5, 16, 33), (6, 1, 37), (7, 2, 19),
        (12, 4, 30), (17, 0, 37), (64, 7, 36),
    ]

    @Test(arguments: KType.allCases)
    func matmulMatchesDotReference(_ type: KType) {
        var rng = SplitMix64(seed: 0x5EED &+ UInt64(type.rawValue))
        let rows = 37
        // Float types have no blocks: a length that is not a multiple of 8 exercises their tails.
        for k in type.blockElements == 1 ? [256, 512, 203] : [256, 512] {
            let rowBytes = k / type.blockElements * type.blockBytes
            let w = randomRow(type, rows * k, &rng)
            let wf = dequantRef(type, w, rows * k)
            for shape in Self.shapes {
                let ldx = k + 3
                let x = randomFloats(shape.m * ldx, &rng)
                let nr = shape.r1 - shape.r0
                let ldy = nr + 5
                // Reference values and error scales.
                var ref = [Double](repeating: 0, count: shape.m * nr)
                var scale = [Double](repeating: 0, count: shape.m * nr)
                w.withUnsafeBytes { wb in
                    for i in 0..<shape.m {
                        for r in shape.r0..<shape.r1 {
                            x.withUnsafeBufferPointer { xb in
                                ref[i * nr + r - shape.r0] = vk_dot_row_ref(
                                    type.id, wb.baseAddress! + r * rowBytes, xb.baseAddress! + i * ldx, Int64(k))
                            }
                            var s = 0.0
                            for j in 0..<k { s += abs(Double(x[i * ldx + j]) * Double(wf[r * k + j])) }
                            scale[i * nr + r - shape.r0] = s
                        }
                    }
                }
                let groups = (shape.m + Int(VK_PACK_ROWS) - 1) / Int(VK_PACK_ROWS)
                var packed = [Float](repeating: .nan, count: Int(vk_packed_activation_floats(Int64(shape.m), Int64(k))))
                vk_pack_activations(x, Int64(ldx), Int64(shape.m), Int64(k), 0, Int64(groups), &packed)
                // With packed activations large m takes the GEMM path; without, per-row dots.
                forEachSimdLevel { level in for usePacked in [true, false] {
                    let sentinel: Float = 12345
                    var y = [Float](repeating: sentinel, count: shape.m * ldy)
                    var scratch = [Float](repeating: .nan, count: Int(vk_matmul_scratch_floats(Int64(k))))
                    w.withUnsafeBytes { wb in
                        packed.withUnsafeBufferPointer { pb in
                            vk_matmul(type.id, wb.baseAddress, Int64(k), Int64(shape.r0), Int64(shape.r1),
                                      x, Int64(ldx), Int64(shape.m), usePacked ? pb.baseAddress : nil, &y, Int64(ldy), &scratch,
                                      Int32(VK_ACT_F32.rawValue))
                        }
                    }
                    var bad = 0
                    var untouched = true
                    for i in 0..<shape.m {
                        for c in 0..<ldy {
                            let v = y[i * ldy + c]
                            if c >= nr {
                                if v != sentinel { untouched = false }
                                continue
                            }
                            let err = abs(Double(v) - ref[i * nr + c])
                            if !(err <= 1e-5 * scale[i * nr + c] + 1e-30) { bad += 1 }
                        }
                    }
                    #expect(bad == 0, "\(type.description) level \(level) packed \(usePacked) k \(k) shape \(shape)")
                    #expect(untouched, "\(type.description) level \(level) wrote outside its columns")
                } }
            }
        }
    }
}
}

extension KernelTests {
@Suite
struct FloatDotBatchInvarianceTests {
    /// Speculative verification computes a token's logits in a batch of rows; they must equal
    /// what single-row decoding computes, bit for bit, on every level.
    @Test(arguments: [KType.f32, .f16, .bf16])
    func rowsEqualSingleRowResultsExactly(_ type: KType) {
        var rng = SplitMix64(seed: 0xB17 &+ UInt64(type.rawValue))
        for k in [64, 203, 576] {
            let rows = 21
            let w = randomRow(type, rows * k, &rng)
            for m in [2, 3, 4, 5, 8, 13, 16] {
                let x = randomFloats(m * k, &rng)
                forEachSimdLevel { level in
                    var batched = [Float](repeating: .nan, count: m * rows)
                    var scratch = [Float](repeating: .nan, count: Int(vk_matmul_scratch_floats(Int64(k))))
                    w.withUnsafeBytes { wb in
                        vk_matmul(type.id, wb.baseAddress, Int64(k), 0, Int64(rows), x, Int64(k), Int64(m), nil,
                                  &batched, Int64(rows), &scratch, Int32(VK_ACT_F32.rawValue))
                    }
                    for i in 0..<m {
                        var single = [Float](repeating: .nan, count: rows)
                        w.withUnsafeBytes { wb in
                            x.withUnsafeBufferPointer { xb in
                                vk_matmul(type.id, wb.baseAddress, Int64(k), 0, Int64(rows), xb.baseAddress! + i * k,
                                          Int64(k), 1, nil, &single, Int64(rows), &scratch, Int32(VK_ACT_F32.rawValue))
                            }
                        }
                        let same = (0..<rows).allSatisfy { single[$0].bitPattern == batched[i * rows + $0].bitPattern }
                        #expect(same, "\(type.description) level \(level) k \(k) m \(m) row \(i)")
                    }
                }
            }
        }
    }
}
}

extension KernelTests {
@Suite
struct OpsTests {
    static let lengths = [1, 2, 7, 8, 9, 31, 33, 64, 100, 1027]

    @Test func rmsnorm() {
        var rng = SplitMix64(seed: 1)
        forEachSimdLevel { level in
            for n in Self.lengths {
                let x = randomFloats(n, &rng, -3, 3), w = randomFloats(n, &rng, 0.5, 1.5)
                var out = [Float](repeating: 0, count: n)
                vk_rmsnorm(x, w, &out, Int64(n), 1e-6)
                var ss = 0.0
                for v in x { ss += Double(v) * Double(v) }
                let inv = 1 / (ss / Double(n) + 1e-6).squareRoot()
                for i in 0..<n {
                    let want = Double(x[i]) * inv * Double(w[i])
                    #expect(abs(Double(out[i]) - want) <= 1e-6 * abs(want) + 1e-7, "level \(level) n \(n) i \(i)")
                }
            }
        }
    }

    @Test func softmax() {
        var rng = SplitMix64(seed: 2)
        forEachSimdLevel { level in
            for n in Self.lengths {
                var x = randomFloats(n, &rng, -20, 20)
                if n > 4 { x[3] = -.infinity; x[1] = -100 }
                let orig = x
                vk_softmax(&x, Int64(n))
                let mx = orig.max()!
                var sum = 0.0
                for v in orig { sum += exp(Double(v) - Double(mx)) }
                for i in 0..<n {
                    let want = exp(Double(orig[i]) - Double(mx)) / sum
                    // x - max is rounded to float first (as ggml does): allow for that.
                    let tol = want == 0 ? 0 : (2e-6 + abs(Double(orig[i]) - Double(mx)) * 1.2e-7) * want
                    #expect(abs(Double(x[i]) - want) <= tol + 1e-30, "level \(level) n \(n) i \(i)")
                }
            }
        }
    }

    @Test func logSumExp() {
        var rng = SplitMix64(seed: 12)
        forEachSimdLevel { level in
            for n in Self.lengths + [2048, 49152] {
                var x = randomFloats(n, &rng, -30, 30)
                if n > 4 { x[3] = -.infinity; x[1] = -100 }
                let mx = Double(x.max()!)
                let want = mx + log(x.reduce(0.0) { $0 + exp(Double($1) - mx) })
                let got = vk_log_sum_exp(x, Int64(n))
                #expect(abs(got - want) <= 1e-6, "level \(level) n \(n): \(got) vs \(want)")
            }
            #expect(vk_log_sum_exp([-Float.infinity, -.infinity], 2) == -.infinity)
            #expect(vk_log_sum_exp([], 0) == -.infinity)
        }
    }

    @Test func siluMul() {
        var rng = SplitMix64(seed: 3)
        forEachSimdLevel { level in
            for n in Self.lengths {
                var g = randomFloats(n, &rng, -12, 12)
                if n > 8 { g[0] = -100; g[1] = 100; g[2] = 0; g[3] = -90; g[4] = 88.5 }
                let u = randomFloats(n, &rng, -2, 2)
                var out = [Float](repeating: 0, count: n)
                vk_silu_mul(g, u, &out, Int64(n))
                for i in 0..<n {
                    let gd = Double(g[i])
                    let want = gd / (1 + exp(-gd)) * Double(u[i])
                    #expect(abs(Double(out[i]) - want) <= 2e-6 * abs(want) + 1e-30, "level \(level) n \(n) i \(i) g \(g[i])")
                }
            }
        }
    }

    /// Against PyTorch's formula in double: 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))).
    @Test func geluTanhMul() {
        var rng = SplitMix64(seed: 31)
        forEachSimdLevel { level in
            for n in Self.lengths {
                var g = randomFloats(n, &rng, -8, 8)
                if n > 8 { g[0] = -100; g[1] = 100; g[2] = 0; g[3] = -1e-4; g[4] = 30 }
                let u = randomFloats(n, &rng, -2, 2)
                var out = [Float](repeating: 0, count: n)
                vk_gelu_tanh_mul(g, u, &out, Int64(n))
                for i in 0..<n {
                    let gd = Double(g[i])
                    let want = 0.5 * gd * (1 + tanh((2 / Double.pi).squareRoot() * (gd + 0.044715 * gd * gd * gd))) * Double(u[i])
                    // Near zero for negative g, 1 + tanh cancels (in PyTorch too): error on the scale of g.
                    let bound = 4e-6 * abs(want) + 2e-7 * abs(gd * Double(u[i]))
                    #expect(abs(Double(out[i]) - want) <= bound, "level \(level) n \(n) i \(i) g \(g[i])")
                }
            }
        }
    }

    /// gpt-oss's clamped SwiGLU against its formula in double (alpha 1.702, limit 7 as gpt-oss
    /// ships; inputs well past the limit on both sides).
    @Test func swigluOAI() {
        var rng = SplitMix64(seed: 33)
        forEachSimdLevel { level in
            for n in Self.lengths {
                var g = randomFloats(n, &rng, -20, 20)
                if n > 8 { g[0] = -100; g[1] = 100; g[2] = 0; g[3] = 7; g[4] = -1e-4 }
                let u = randomFloats(n, &rng, -20, 20)
                var out = [Float](repeating: 0, count: n)
                vk_swiglu_oai(g, u, &out, Int64(n), 1.702, 7)
                for i in 0..<n {
                    let gd = min(Double(g[i]), 7), ud = min(max(Double(u[i]), -7), 7)
                    let glu = gd / (1 + exp(-1.702 * gd)), want = (ud + 1) * glu
                    // u + 1 rounds to fp32 first: an error on the scale of 1, not of u + 1.
                    #expect(abs(Double(out[i]) - want) <= 4e-6 * abs(want) + 1.2e-7 * abs(glu) + 1e-30, "level \(level) n \(n) i \(i) g \(g[i]) u \(u[i])")
                }
            }
        }
    }

    @Test func softcap() {
        var rng = SplitMix64(seed: 32)
        forEachSimdLevel { level in
            for n in Self.lengths {
                for cap: Float in [0.5, 30, 50] {
                    var x = randomFloats(n, &rng, -4 * cap, 4 * cap)
                    if n > 8 { x[0] = -1e30; x[1] = 1e30; x[2] = 0; x[3] = 1e-6 }
                    var out = x
                    vk_softcap(&out, Int64(n), cap)
                    for i in 0..<n {
                        let want = Double(cap) * tanh(Double(x[i]) / Double(cap))
                        #expect(abs(Double(out[i]) - want) <= 4e-7 * Double(cap), "level \(level) n \(n) i \(i) x \(x[i])")
                    }
                }
            }
        }
    }

    @Test func ropeAdjacent() {
        var rng = SplitMix64(seed: 4)
        forEachSimdLevel { level in
            for (heads, hd) in [(1, 2), (3, 6), (2, 64), (5, 128), (1, 18)] {
                var x = randomFloats(heads * hd, &rng, -2, 2)
                let orig = x
                let ang = randomFloats(hd / 2, &rng, -3.2, 3.2)
                let c = ang.map { Float(cos(Double($0))) }, s = ang.map { Float(sin(Double($0))) }
                vk_rope_adjacent(&x, Int64(heads), Int64(hd), c, s)
                for h in 0..<heads {
                    for i in 0..<(hd / 2) {
                        let x0 = Double(orig[h * hd + 2 * i]), x1 = Double(orig[h * hd + 2 * i + 1])
                        let w0 = x0 * Double(c[i]) - x1 * Double(s[i])
                        let w1 = x0 * Double(s[i]) + x1 * Double(c[i])
                        #expect(abs(Double(x[h * hd + 2 * i]) - w0) <= 1e-6 * (abs(x0) + abs(x1)))
                        #expect(abs(Double(x[h * hd + 2 * i + 1]) - w1) <= 1e-6 * (abs(x0) + abs(x1)), "level \(level)")
                    }
                }
            }
        }
    }

    @Test func ropeRotateHalf() {
        var rng = SplitMix64(seed: 14)
        forEachSimdLevel { level in
            for (heads, hd) in [(1, 2), (3, 6), (2, 64), (5, 128), (1, 18), (2, 34)] {
                var x = randomFloats(heads * hd, &rng, -2, 2)
                let orig = x, half = hd / 2
                let ang = randomFloats(half, &rng, -3.2, 3.2)
                let c = ang.map { Float(cos(Double($0))) }, s = ang.map { Float(sin(Double($0))) }
                vk_rope_rotate_half(&x, Int64(heads), Int64(hd), c, s)
                for h in 0..<heads {
                    for i in 0..<half {
                        let x0 = Double(orig[h * hd + i]), x1 = Double(orig[h * hd + i + half])
                        let w0 = x0 * Double(c[i]) - x1 * Double(s[i])
                        let w1 = x0 * Double(s[i]) + x1 * Double(c[i])
                        #expect(abs(Double(x[h * hd + i]) - w0) <= 1e-6 * (abs(x0) + abs(x1)), "level \(level)")
                        #expect(abs(Double(x[h * hd + i + half]) - w1) <= 1e-6 * (abs(x0) + abs(x1)), "level \(level)")
                    }
                }
            }
        }
    }

    @Test func dotAndAxpy() {
        var rng = SplitMix64(seed: 5)
        forEachSimdLevel { level in
            for n in Self.lengths + [0, 4096] {
                let a = randomFloats(n, &rng), b = randomFloats(n, &rng)
                let got = vk_dot_f32(a, b, Int64(n))
                var want = 0.0, scale = 0.0
                for i in 0..<n { want += Double(a[i]) * Double(b[i]); scale += abs(Double(a[i]) * Double(b[i])) }
                #expect(abs(Double(got) - want) <= 1e-6 * scale + 1e-30, "level \(level) n \(n)")

                var y = b
                let alpha: Float = -0.37
                vk_axpy_f32(alpha, a, &y, Int64(n))
                for i in 0..<n {
                    let w = Double(b[i]) + Double(alpha) * Double(a[i])
                    #expect(abs(Double(y[i]) - w) <= 1e-7 * (abs(Double(b[i])) + abs(Double(alpha * a[i]))) + 1e-30)
                }
            }
        }
    }
}
}

/// The roofline probes: the triad against a scalar loop, the FMA chains' exact sum on both paths.
@Suite
struct RooflineTests {
    @Test func triadMatchesScalarLoop() {
        var rng = SplitMix64(seed: 7)
        for n in [0, 1, 7, 8, 33, 1000] {
            let b = (0..<n).map { _ in Float.random(in: -4...4, using: &rng) }
            let c = (0..<n).map { _ in Float.random(in: -4...4, using: &rng) }
            let s = Float.random(in: -2...2, using: &rng)
            var a = [Float](repeating: .nan, count: n)
            vk_triad_f32(&a, b, c, s, Int64(n))
            for i in 0..<n { #expect(a[i] == b[i] + s * c[i]) }
        }
    }

    @Test func fmaChainsSumExactly() {
        forEachSimdLevel { _ in
            for iterations in [0, 1, 1000, 4097] {
                #expect(vk_fma_peak(Int64(iterations)) == Double(96 * iterations))
            }
        }
        #expect(vk_fma_peak_flops_per_iteration() == 192)
    }

    @Test func measureReportsPositiveLimits() {
        let r = Roofline.measure(pool: ThreadPool(threadCount: 2), arrayBytes: 1 << 20, fmaIterations: 1000, repeats: 1)
        #expect(r.memoryBandwidth > 0 && r.memoryBandwidth.isFinite)
        #expect(r.peakFlops > 0 && r.peakFlops.isFinite)
        #expect(r.threads == 2)
    }
}
