import VLLMCompute
import CKernels
import Testing
import Foundation

extension KernelTests {
/// Weights repacked at load for the int8 path (repack_q8.c): the repacked panels times int8
/// activations equal the reference dot of the stored rows with the dequantized activations, on
/// every SIMD level, for any batch size and any 8-aligned slice of rows.
@Suite
struct RepackedWeightTests {
    /// The types with a repacked form: those of the int8 dots on stored rows, the 5-bit ones and
    /// IQ4_NL/IQ4_XS/MXFP4 (these three, like Q8_0, have SIMD kernels only with AVX-512 VNNI:
    /// level 1 runs the portable kernel on them).
    static let repackedTypes: [KType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS, .mxfp4]

    @Test(arguments: repackedTypes)
    func repackedMatmulMatchesReference(_ type: KType) {
        var rng = SplitMix64(seed: 0x2E9AC &+ UInt64(type.rawValue))
        let k = type.blockElements == 256 ? 512 : 160
        // 21 rows: two full panels and a zero-padded one of 5 rows.
        let rows = 21, rowBytes = k / type.blockElements * type.blockBytes
        let w = randomRow(type, rows * k, &rng)
        let wf = dequantRef(type, w, rows * k)
        let bytes = Int(vk_repack_bytes(type.id, Int64(rows), Int64(k)))
        #expect(bytes == 3 * Int(vk_repack_panel_bytes(type.id, Int64(k))))
        var packed = [UInt8](repeating: 0xA5, count: bytes)
        // Two calls over disjoint panel ranges, as threads split the work at load.
        w.withUnsafeBytes { wb in
            vk_repack(type.id, wb.baseAddress, Int64(rows), Int64(k), 0, 1, &packed)
            vk_repack(type.id, wb.baseAddress, Int64(rows), Int64(k), 1, 3, &packed)
        }
        for m in [1, 2, 3, 4, 5, 8, 9, 13] {
            let x = randomFloats(m * k, &rng, -2, 2)
            let rowsQ = (0..<m).map { i in Int8ActivationTests.quantized(Array(x[(i * k)..<(i * k + k)]), k) }
            let xq = rowsQ.flatMap(\.values), q = rowsQ.flatMap(\.bytes)
            forEachSimdLevel { level in
                // Rows [8, 21) on their own too: r0 at a panel edge past the first.
                for (r0, r1) in [(0, rows), (8, rows)] {
                    var y = [Float](repeating: .nan, count: m * (r1 - r0))
                    vk_matmul_repacked(type.id, packed, Int64(k), Int64(r0), Int64(r1), q, Int64(m), 1, &y, Int64(r1 - r0), nil)
                    var bad = 0
                    for i in 0..<m {
                        let xi = Array(xq[(i * k)..<(i * k + k)])
                        for r in r0..<r1 {
                            let wr = Array(w[(r * rowBytes)..<(r * rowBytes + rowBytes)])
                            let ref = vk_dot_row_ref(type.id, wr, xi, Int64(k))
                            var scale = 0.0
                            for j in 0..<k { scale += abs(Double(xi[j]) * Double(wf[r * k + j])) }
                            if !(abs(Double(y[i * (r1 - r0) + r - r0]) - ref) <= 1e-5 * scale + 1e-30) { bad += 1 }
                        }
                    }
                    #expect(bad == 0, "\(type.description) level \(level) m \(m) rows \(r0)..<\(r1)")
                }
            }
        }
    }

    /// The values `terms` int8 rows stand for together (vk_quantize_act_q8_terms), and the bytes.
    /// The most a row's dot can move when x is taken as `terms` int8 terms: each element is
    /// within its block's max|x| / 254 (one term: half a step) or / (127 * 256) (two).
    static func termErrorBound(_ type: KType, _ w: [UInt8], _ x: [Float], _ terms: Int) -> Double {
        var wf = [Float](repeating: 0, count: x.count)
        vk_dequantize_row(type.id, w, &wf, Int64(x.count))
        let step = terms == 1 ? 254.0 : 127 * 256
        var bound = 0.0
        for b in stride(from: 0, to: x.count, by: 32) {
            let amax = Double(x[b..<(b + 32)].map(abs).max()!)
            for i in b..<(b + 32) { bound += Double(abs(wf[i])) * amax / step }
        }
        return bound * 1.01 + 1e-6
    }

    static func termRows(_ x: [Float], _ k: Int, _ terms: Int) -> (bytes: [UInt8], values: [Float]) {
        let rowBytes = Int(vk_act_q8_bytes(Int64(k)))
        var bytes = [UInt8](repeating: 0, count: terms * rowBytes)
        var values = [Float](repeating: 0, count: k), part = [Float](repeating: 0, count: k)
        bytes.withUnsafeMutableBytes { b in
            vk_quantize_act_q8_terms(x, Int64(k), Int32(terms), b.baseAddress)
            for t in 0..<terms {
                vk_dequantize_act_q8(b.baseAddress! + t * rowBytes, Int64(k), &part)
                for i in 0..<k { values[i] += part[i] }
            }
        }
        return (bytes, values)
    }

    /// The second term shrinks the error bound from half a step to max|x| / (127 * 256) of each
    /// 32-element block, even for the small elements of a block with an outlier; one term is
    /// exactly vk_quantize_act_q8.
    @Test func residualTermsApproachX() {
        var rng = SplitMix64(seed: 0x7E2A5)
        let k = 256
        var x = randomFloats(k, &rng, -0.01, 0.01)
        x[40] = 90  // an outlier in block 1
        for terms in 1...2 {
            let (bytes, values) = Self.termRows(x, k, terms)
            if terms == 1 { #expect(bytes == Int8ActivationTests.quantized(x, k).bytes) }
            for b in 0..<(k / 32) {
                let amax = Double(x[(32 * b)..<(32 * b + 32)].map(abs).max()!)
                let bound = amax / (terms == 1 ? 254 : 127 * 256) * 1.01
                for i in (32 * b)..<(32 * b + 32) {
                    #expect(abs(Double(values[i]) - Double(x[i])) <= bound, "terms \(terms) element \(i)")
                }
            }
        }
        // One term rounds the outlier block's small elements to 0; two keep them within 90 / 32512.
        #expect(Self.termRows(x, k, 1).values[41] == 0)
        #expect(Self.termRows(x, k, 2).values[41] != 0)
        #expect(abs(Self.termRows(x, k, 2).values[41] - x[41]) < 0.0028)
    }

    /// Multi-term activation rows: the sum of the terms' products, against the reference dot with
    /// the values the terms stand for together.
    @Test(arguments: [KType.q4_K, .q6_K, .q8_0, .q5_0, .q5_K, .iq4_XS, .mxfp4])
    func multiTermMatmulMatchesReference(_ type: KType) {
        var rng = SplitMix64(seed: 0x3E4D &+ UInt64(type.rawValue))
        let k = 256, rows = 13, rowBytes = k / type.blockElements * type.blockBytes
        let w = randomRow(type, rows * k, &rng)
        var packed = [UInt8](repeating: 0, count: Int(vk_repack_bytes(type.id, Int64(rows), Int64(k))))
        w.withUnsafeBytes { vk_repack(type.id, $0.baseAddress, Int64(rows), Int64(k), 0, 2, &packed) }
        for (terms, m) in [(1, 1), (2, 1), (1, 4), (2, 4), (2, 5), (1, 13), (2, 13)] {
            let x = randomFloats(m * k, &rng)
            let parts = (0..<m).map { i in Self.termRows(Array(x[(i * k)..<(i * k + k)]), k, terms) }
            let q = parts.flatMap(\.bytes)
            forEachSimdLevel { level in
                var y = [Float](repeating: .nan, count: m * rows)
                vk_matmul_repacked(type.id, packed, Int64(k), 0, Int64(rows), q, Int64(m), Int32(terms), &y, Int64(rows), nil)
                for i in 0..<m {
                    for r in 0..<rows {
                        let wr = Array(w[(r * rowBytes)..<(r * rowBytes + rowBytes)])
                        let ref = vk_dot_row_ref(type.id, wr, parts[i].values, Int64(k))
                        let exact = vk_dot_row_ref(type.id, wr, Array(x[(i * k)..<(i * k + k)]), Int64(k))
                        #expect(abs(Double(y[i * rows + r]) - ref) <= 1e-4 * max(1, abs(ref)),
                                "\(type.description) level \(level) terms \(terms) m \(m)")
                        #expect(abs(ref - exact) <= Self.termErrorBound(type, wr, Array(x[(i * k)..<(i * k + k)]), terms))
                    }
                }
            }
        }
    }

    /// The fp32 GEMM on repacked panels (terms 0) computes what it computes on the stored rows:
    /// the panels dequantize to the same values.
    @Test(arguments: repackedTypes)
    func repackedFloatGEMMMatchesStored(_ type: KType) {
        var rng = SplitMix64(seed: 0x6E77 &+ UInt64(type.rawValue))
        let k = 512, rows = 27
        let w = randomRow(type, rows * k, &rng)
        var packedW = [UInt8](repeating: 0, count: Int(vk_repack_bytes(type.id, Int64(rows), Int64(k))))
        w.withUnsafeBytes { vk_repack(type.id, $0.baseAddress, Int64(rows), Int64(k), 0, 4, &packedW) }
        let m = 13, x = randomFloats(m * k, &rng)
        var packedX = [Float](repeating: 0, count: Int(vk_packed_activation_floats(Int64(m), Int64(k))))
        vk_pack_activations(x, Int64(k), Int64(m), Int64(k), 0, Int64((m + Int(VK_PACK_ROWS) - 1) / Int(VK_PACK_ROWS)), &packedX)
        var scratch = [Float](repeating: .nan, count: Int(vk_matmul_scratch_floats(Int64(k))))
        forEachSimdLevel { level in
            for (r0, r1) in [(0, rows), (8, 19)] {
                var stored = [Float](repeating: .nan, count: m * (r1 - r0)), repacked = stored
                w.withUnsafeBytes { wb in
                    vk_matmul(type.id, wb.baseAddress, Int64(k), Int64(r0), Int64(r1), x, Int64(k), Int64(m), packedX,
                              &stored, Int64(r1 - r0), &scratch, Int32(VK_ACT_F32.rawValue))
                }
                vk_matmul_repacked(type.id, packedW, Int64(k), Int64(r0), Int64(r1), packedX, Int64(m), 0, &repacked,
                                   Int64(r1 - r0), &scratch)
                let worst = zip(stored, repacked).map { abs($0 - $1) / max(1, abs($0)) }.max()!
                #expect(worst <= 1e-6, "\(type.description) level \(level) rows \(r0)..<\(r1): \(worst)")
            }
        }
    }

    /// Types without a repacked form say so (size 0), so loaders keep them as stored.
    @Test func otherTypesHaveNoRepackedForm() {
        for type in KType.allCases where !Self.repackedTypes.contains(type) {
            #expect(vk_repack_panel_bytes(type.id, 256) == 0, "\(type.description)")
            #expect(vk_repack_preferred(type.id) == 0, "\(type.description)")
        }
        // A row length that is not a whole number of records has none either.
        #expect(vk_repack_panel_bytes(KType.q4_K.id, 288) == 0)
    }
}
}
