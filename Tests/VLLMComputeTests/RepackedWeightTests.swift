import VLLMCompute
import CKernels
import Testing

extension KernelTests {
/// Weights repacked at load for the int8 path (repack_q8.c): the repacked panels times int8
/// activations equal the reference dot of the stored rows with the dequantized activations, on
/// every SIMD level, for any batch size and any 8-aligned slice of rows.
@Suite
struct RepackedWeightTests {
    @Test(arguments: Int8ActivationTests.int8Types)
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
                    vk_matmul_repacked(type.id, packed, Int64(k), Int64(r0), Int64(r1), q, Int64(m), 1, &y, Int64(r1 - r0))
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

    /// Types without a repacked form say so (size 0), so loaders keep them as stored.
    @Test func otherTypesHaveNoRepackedForm() {
        for type in KType.allCases where !Int8ActivationTests.int8Types.contains(type) {
            #expect(vk_repack_panel_bytes(type.id, 256) == 0, "\(type.description)")
            #expect(vk_repack_preferred(type.id) == 0, "\(type.description)")
        }
        // A row length that is not a whole number of records has none either.
        #expect(vk_repack_panel_bytes(KType.q4_K.id, 288) == 0)
    }
}
}
