import CKernels
import Testing
import VLLMCompute

extension KernelTests {
@Suite
struct AttentionTests {
    /// Paged attention over randomly placed blocks equals the contiguous double reference, whole
    /// and split into parts then merged; head sizes on the AVX2 path (multiples of 32) and off it (48).
    @Test func pagedMatchesContiguousReference() {
        var rng = SplitMix64(seed: 11)
        forEachSimdLevel { level in
            for round in 0..<40 {
                let hd = [48, 64, 128, 64, 96][round % 5]
                let g = [1, 2, 3, 4][round % 4], kvHeads = 1 + round % 3, head = round % kvHeads
                let blockSize = [1, 3, 16, 5][round % 4]
                let n = 1 + Int(rng.next() % 300)
                let blocksNeeded = (n + blockSize - 1) / blockSize
                let numBlocks = blocksNeeded + Int(rng.next() % 5)
                let table = Array((0..<numBlocks).map { Int32($0) }.shuffled(using: &rng).prefix(blocksNeeded))
                let q = randomFloats(g * hd, &rng, -2, 2)
                let kRef = randomFloats(n * hd, &rng, -2, 2), vRef = randomFloats(n * hd, &rng, -1, 1)
                // Pool layout [block][kvHead][blockSize][hd].
                let blockStride = kvHeads * blockSize * hd
                var kPool = randomFloats(numBlocks * blockStride, &rng), vPool = randomFloats(numBlocks * blockStride, &rng)
                for p in 0..<n {
                    let dst = Int(table[p / blockSize]) * blockStride + head * blockSize * hd + (p % blockSize) * hd
                    for d in 0..<hd { kPool[dst + d] = kRef[p * hd + d]; vPool[dst + d] = vRef[p * hd + d] }
                }
                var want = [Float](repeating: 0, count: g * hd)
                vk_attention_ref(q, Int64(g), Int64(hd), kRef, vRef, Int64(hd), Int64(n), 0.125, &want)

                func run(_ start: Int, _ len: Int, _ out: inout [Float], _ m: inout [Float], _ s: inout [Float]) {
                    var scores = [Float](repeating: 0, count: g * len)
                    kPool.withUnsafeBufferPointer { kp in
                        vPool.withUnsafeBufferPointer { vp in
                            let off = head * blockSize * hd
                            vk_paged_attention(q, Int64(g), Int64(hd), kp.baseAddress! + off, vp.baseAddress! + off, table,
                                               Int64(blockSize), Int64(blockStride), Int64(start), Int64(len), 0.125,
                                               &scores, &out, &m, &s)
                        }
                    }
                }
                var got = [Float](repeating: 0, count: g * hd), m = [Float](repeating: 0, count: g), s = m
                run(0, n, &got, &m, &s)
                for i in 0..<g * hd {
                    #expect(abs(got[i] - want[i]) <= 2e-5, "level \(level) round \(round) i \(i)")
                }
                // Split in up to three parts at random cuts, then merge.
                let cuts = ([0, n] + [Int(rng.next() % UInt64(n)), Int(rng.next() % UInt64(n))]).sorted()
                var outs: [Float] = [], maxes: [Float] = [], sums: [Float] = []
                var parts = 0
                for p in 0..<3 where cuts[p + 1] > cuts[p] {
                    var o = [Float](repeating: 0, count: g * hd), pm = [Float](repeating: 0, count: g), ps = pm
                    run(cuts[p], cuts[p + 1] - cuts[p], &o, &pm, &ps)
                    outs += o; maxes += pm; sums += ps; parts += 1
                }
                var merged = [Float](repeating: 0, count: g * hd)
                vk_attention_merge(outs, maxes, sums, Int64(parts), Int64(g), Int64(hd), &merged)
                for i in 0..<g * hd {
                    #expect(abs(merged[i] - want[i]) <= 2e-5, "merged level \(level) round \(round) i \(i)")
                }
            }
        }
    }
}
}
