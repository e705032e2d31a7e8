import VLLMCompute
import CKernels
import Testing

extension KernelTests {
/// The opt-in int8 activation path: the quantizer's rounding bound, and the int8 dot kernels
/// against the scalar reference on the dequantized activations.
@Suite
struct Int8ActivationTests {
    static func quantized(_ x: [Float], _ k: Int) -> (bytes: [UInt8], values: [Float]) {
        var bytes = [UInt8](repeating: 0, count: Int(vk_act_q8_bytes(Int64(k))))
        var values = [Float](repeating: .nan, count: k)
        bytes.withUnsafeMutableBytes { b in
            vk_quantize_act_q8(x, Int64(k), b.baseAddress)
            vk_dequantize_act_q8(b.baseAddress, Int64(k), &values)
        }
        return (bytes, values)
    }

    @Test func quantizerRoundsWithinHalfAStep() {
        var rng = SplitMix64(seed: 0x18A)
        let k = 256
        for trial in 0..<20 {
            // Blocks of very different magnitudes, and one all-zero block.
            var x = (0..<k).map { i in rng.float(-1, 1) * Float(1 << ((i / 32 + trial) % 12)) * 1e-3 }
            for i in 64..<96 { x[i] = 0 }
            let (_, values) = Self.quantized(x, k)
            for b in 0..<(k / 32) {
                let amax = x[(32 * b)..<(32 * b + 32)].map(abs).max()!
                for i in (32 * b)..<(32 * b + 32) {
                    #expect(abs(values[i] - x[i]) <= amax / 254 * 1.0001, "trial \(trial) element \(i)")
                }
            }
            #expect(values[64..<96].allSatisfy { $0 == 0 })
        }
    }

    /// The types with an int8 path on stored rows (every other type is repacked where int8 runs).
    static let int8Types: [KType] = [.q8_0]

    /// vk_matmul with VK_ACT_INT8 equals the reference dot of each weight row with the dequantized
    /// int8 activations where it takes int8 for that type and batch (up to 32 rows), or with x
    /// itself where it runs fp32: on activations it quantizes itself, and on activations the
    /// caller quantized.
    @Test(arguments: KType.allCases)
    func int8MatmulMatchesReference(_ type: KType) {
        var rng = SplitMix64(seed: 0x1A8 &+ UInt64(type.rawValue))
        // 32-element formats: 19 blocks, two 8-block steps of the AVX2 kernels and a 3-block tail;
        // 19 rows: a 16-row fp32 GEMM panel and a 3-row one.
        let k = type.blockElements == 256 ? 512 : 608, rows = 19
        let rowBytes = k / type.blockElements * type.blockBytes
        let w = randomRow(type, rows * k, &rng)
        let wf = dequantRef(type, w, rows * k)
        let act = Int32(VK_ACT_INT8.rawValue)
        for (m, callerQuantizes) in [(1, false), (2, false), (3, false), (4, false), (5, false), (7, false),
                                     (16, false), (1, true), (6, true), (9, true), (32, true), (37, true)] {
            let x = randomFloats(m * k, &rng)
            let rowsQ = (0..<m).map { i in Self.quantized(Array(x[(i * k)..<(i * k + k)]), k) }
            let xq = rowsQ.flatMap(\.values), prepared = rowsQ.flatMap(\.bytes)
            forEachSimdLevel { level in
                let dots = vk_matmul_int8_supported(type.id) != 0
                #expect(dots == (level >= 1 && Self.int8Types.contains(type)))
                let int8 = vk_matmul_takes_int8(type.id, Int64(m), act) != 0
                #expect(int8 == (dots && m <= 32))
                // The caller prepares int8 input only where vk_matmul takes it.
                let usePrepared = callerQuantizes && int8
                let input = int8 ? xq : x
                var y = [Float](repeating: .nan, count: m * rows)
                var scratch = [Float](repeating: .nan, count: Int(vk_matmul_scratch_floats(Int64(k))))
                w.withUnsafeBytes { wb in
                    prepared.withUnsafeBytes { pb in
                        let quantized: UnsafeRawPointer? = usePrepared ? pb.baseAddress : nil
                        vk_matmul(type.id, wb.baseAddress, Int64(k), 0, Int64(rows), x, Int64(k), Int64(m),
                                  quantized, &y, Int64(rows), &scratch, act)
                    }
                }
                var bad = 0
                for i in 0..<m {
                    let xi = Array(input[(i * k)..<(i * k + k)])
                    for r in 0..<rows {
                        let wr = Array(w[(r * rowBytes)..<(r * rowBytes + rowBytes)])
                        let ref = vk_dot_row_ref(type.id, wr, xi, Int64(k))
                        var scale = 0.0
                        for j in 0..<k { scale += abs(Double(xi[j]) * Double(wf[r * k + j])) }
                        if !(abs(Double(y[i * rows + r]) - ref) <= 1e-5 * scale + 1e-30) { bad += 1 }
                    }
                }
                #expect(bad == 0, "\(type.description) level \(level) m \(m) prepared \(usePrepared)")
            }
        }
    }
}
}

extension KernelTests.Int8ActivationTests {
    /// The SIMD quantizer writes the same bytes as the portable one (scales, sums, values), for one
    /// term and for residual terms.
    @Test func quantizerIsTheSameOnEveryLevel() {
        var rng = SplitMix64(seed: 0x5AB1E)
        let k = 1024
        var x = (0..<k).map { i in rng.float(-1, 1) * Float(1 << (i % 9)) }
        for i in 96..<128 { x[i] = 0 }
        x[5] = 1e-30
        var outputs: [[UInt8]] = [], termOutputs: [[UInt8]] = []
        forEachSimdLevel { _ in
            outputs.append(Self.quantized(x, k).bytes)
            termOutputs.append(KernelTests.RepackedWeightTests.termRows(x, k, 3).bytes)
        }
        #expect(outputs.count >= 2 && Set(outputs).count == 1)
        #expect(Set(termOutputs).count == 1)
    }
}
