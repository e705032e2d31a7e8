import VLLMCompute
import CKernels
import Testing

extension KernelTests {
@Suite
struct AttentionTests {
    /// Whole-range attention and split-then-merged attention both match the double reference,
    /// for head sizes on the AVX2 path (64) and off it (48), strided and contiguous layouts.
    @Test func matchesReferenceWholeAndSplit() {
        var rng = SplitMix64(seed: 11)
        forEachSimdLevel { level in
            for (hd, g, n, stride) in [(64, 1, 1, 64), (64, 3, 37, 64), (64, 2, 300, 192), (48, 3, 50, 48), (64, 4, 9, 64)] {
                let q = randomFloats(g * hd, &rng, -2, 2)
                let k = randomFloats(n * stride, &rng, -2, 2), v = randomFloats(n * stride, &rng, -1, 1)
                var want = [Float](repeating: 0, count: g * hd)
                vk_attention_ref(q, Int64(g), Int64(hd), k, v, Int64(stride), Int64(n), 0.125, &want)
                var scores = [Float](repeating: 0, count: g * n)
                var got = [Float](repeating: 0, count: g * hd)
                vk_attention(q, Int64(g), Int64(hd), k, v, Int64(stride), Int64(n), 0.125, &scores, &got, nil, nil)
                for i in 0..<g * hd {
                    #expect(abs(got[i] - want[i]) <= 2e-5, "level \(level) hd \(hd) g \(g) n \(n) i \(i)")
                }
                // Split the positions in three parts and merge.
                let cuts = [0, n / 3, 2 * n / 3, n].filter { $0 >= 0 }
                var outs: [Float] = [], maxes: [Float] = [], sums: [Float] = []
                var partCount = 0
                for p in 0..<3 where cuts[p + 1] > cuts[p] {
                    let len = cuts[p + 1] - cuts[p]
                    var o = [Float](repeating: 0, count: g * hd), m = [Float](repeating: 0, count: g), s = [Float](repeating: 0, count: g)
                    k.withUnsafeBufferPointer { kp in
                        v.withUnsafeBufferPointer { vp in
                            vk_attention(q, Int64(g), Int64(hd), kp.baseAddress! + cuts[p] * stride, vp.baseAddress! + cuts[p] * stride,
                                         Int64(stride), Int64(len), 0.125, &scores, &o, &m, &s)
                        }
                    }
                    outs += o; maxes += m; sums += s; partCount += 1
                }
                var merged = [Float](repeating: 0, count: g * hd)
                vk_attention_merge(outs, maxes, sums, Int64(partCount), Int64(g), Int64(hd), &merged)
                for i in 0..<g * hd {
                    #expect(abs(merged[i] - want[i]) <= 2e-5, "merged level \(level) hd \(hd) g \(g) n \(n) i \(i)")
                }
            }
        }
    }
}
}
