import CKernels
import Foundation
import Testing
import VLLMCompute

extension KernelTests {
@Suite
struct AttentionTests {
    /// Paged attention over randomly placed blocks equals the contiguous double reference, whole
    /// and split into parts then merged; head sizes on the AVX2 path (multiples of 32) and off it
    /// (48); float32 and fp16 K/V (the reference then reads the same fp16-rounded values); with
    /// and without soft-capping (a cap small enough to bend most scores); with and without
    /// attention sinks (per-head logits below and above the scores, applied whole or at the merge).
    @Test(arguments: [Int32(VK_TYPE_F32.rawValue), Int32(VK_TYPE_F16.rawValue)])
    func pagedMatchesContiguousReference(kvType: Int32) {
        var rng = SplitMix64(seed: 11)
        let f16 = kvType == Int32(VK_TYPE_F16.rawValue)
        // The values the cache holds for `x`.
        func stored(_ x: [Float]) -> [Float] { f16 ? x.map { Float(Float16($0)) } : x }
        forEachSimdLevel { level in
            for round in 0..<40 {
                let hd = [48, 64, 128, 64, 96][round % 5]
                let g = [1, 2, 3, 4][round % 4], kvHeads = 1 + round % 3, head = round % kvHeads
                let blockSize = [1, 3, 16, 5][round % 4]
                let softcap: Float = [0, 0.7, 0, 3][round % 4]
                let sinks: [Float]? = round % 3 == 1 ? randomFloats(g, &rng, -3, 8) : nil
                let n = 1 + Int(rng.next() % 300)
                let blocksNeeded = (n + blockSize - 1) / blockSize
                let numBlocks = blocksNeeded + Int(rng.next() % 5)
                let table = Array((0..<numBlocks).map { Int32($0) }.shuffled(using: &rng).prefix(blocksNeeded))
                let q = randomFloats(g * hd, &rng, -2, 2)
                let kRef = stored(randomFloats(n * hd, &rng, -2, 2)), vRef = stored(randomFloats(n * hd, &rng, -1, 1))
                // Pool layout [block][kvHead][blockSize][hd].
                let blockStride = kvHeads * blockSize * hd
                var kPool = randomFloats(numBlocks * blockStride, &rng), vPool = randomFloats(numBlocks * blockStride, &rng)
                for p in 0..<n {
                    let dst = Int(table[p / blockSize]) * blockStride + head * blockSize * hd + (p % blockSize) * hd
                    for d in 0..<hd { kPool[dst + d] = kRef[p * hd + d]; vPool[dst + d] = vRef[p * hd + d] }
                }
                let kHalf = kPool.map { Float16($0).bitPattern }, vHalf = vPool.map { Float16($0).bitPattern }
                var want = [Float](repeating: 0, count: g * hd)
                vk_attention_ref(q, Int64(g), Int64(hd), kRef, vRef, Int64(hd), Int64(n), 0.125, softcap, sinks, &want)

                func run(_ start: Int, _ len: Int, _ sinks: [Float]?, _ out: inout [Float], _ m: inout [Float], _ s: inout [Float]) {
                    var scores = [Float](repeating: 0, count: g * len)
                    func call(_ k: UnsafeRawPointer, _ v: UnsafeRawPointer) {
                        vk_paged_attention(q, Int64(g), Int64(hd), k, v, kvType, table,
                                           Int64(blockSize), Int64(blockStride), Int64(start), Int64(len), 0.125,
                                           softcap, sinks, &scores, &out, &m, &s)
                    }
                    let off = head * blockSize * hd
                    if f16 {
                        kHalf.withUnsafeBufferPointer { k in vHalf.withUnsafeBufferPointer { v in call(k.baseAddress! + off, v.baseAddress! + off) } }
                    } else {
                        kPool.withUnsafeBufferPointer { k in vPool.withUnsafeBufferPointer { v in call(k.baseAddress! + off, v.baseAddress! + off) } }
                    }
                }
                var got = [Float](repeating: 0, count: g * hd), m = [Float](repeating: 0, count: g), s = m
                run(0, n, sinks, &got, &m, &s)
                for i in 0..<g * hd {
                    #expect(abs(got[i] - want[i]) <= 2e-5, "type \(kvType) level \(level) round \(round) i \(i)")
                }
                // Split in up to three parts at random cuts, then merge.
                let cuts = ([0, n] + [Int(rng.next() % UInt64(n)), Int(rng.next() % UInt64(n))]).sorted()
                var outs: [Float] = [], maxes: [Float] = [], sums: [Float] = []
                var parts = 0
                for p in 0..<3 where cuts[p + 1] > cuts[p] {
                    var o = [Float](repeating: 0, count: g * hd), pm = [Float](repeating: 0, count: g), ps = pm
                    run(cuts[p], cuts[p + 1] - cuts[p], nil, &o, &pm, &ps)
                    outs += o; maxes += pm; sums += ps; parts += 1
                }
                var merged = [Float](repeating: 0, count: g * hd)
                vk_attention_merge(outs, maxes, sums, Int64(parts), Int64(g), Int64(hd), sinks, &merged)
                for i in 0..<g * hd {
                    #expect(abs(merged[i] - want[i]) <= 2e-5, "merged type \(kvType) level \(level) round \(round) i \(i)")
                }
            }
        }
    }

    /// Contiguous attention equals the double reference: rows `stride` apart (packed, or one
    /// head's rows among several heads'), head sizes on and off the AVX2 path, float32 and fp16
    /// K/V, g from 1 to 4 (the 3-head and 1-head kernels and their tails), with and without
    /// software prefetching, and the max and sum it reports are the softmax's.
    @Test(arguments: [Int32(VK_TYPE_F32.rawValue), Int32(VK_TYPE_F16.rawValue)])
    func contiguousMatchesReference(kvType: Int32) {
        var rng = SplitMix64(seed: 12)
        let f16 = kvType == Int32(VK_TYPE_F16.rawValue)
        forEachSimdLevel { level in
            for round in 0..<40 {
                let hd = [48, 64, 128, 64, 96][round % 5]
                let g = [1, 2, 3, 4][round % 4], heads = 1 + round % 3, head = round % heads
                let n = 1 + Int(rng.next() % 300), stride = heads * hd
                let q = randomFloats(g * hd, &rng, -2, 2)
                var k = randomFloats(n * stride, &rng, -2, 2), v = randomFloats(n * stride, &rng, -1, 1)
                if f16 { k = k.map { Float(Float16($0)) }; v = v.map { Float(Float16($0)) } }
                let kHalf = k.map { Float16($0).bitPattern }, vHalf = v.map { Float16($0).bitPattern }
                var want = [Float](repeating: 0, count: g * hd)
                vk_attention_ref(q, Int64(g), Int64(hd), Array(k[(head * hd)...]), Array(v[(head * hd)...]),
                                 Int64(stride), Int64(n), 0.125, 0, nil, &want)
                var got = [Float](repeating: 0, count: g * hd), m = [Float](repeating: 0, count: g), s = m
                var scores = [Float](repeating: 0, count: g * n)
                func call(_ k: UnsafeRawPointer, _ v: UnsafeRawPointer) {
                    vk_contiguous_attention(q, Int64(g), Int64(hd), k, v, kvType, Int64(stride), Int64(n),
                                            Int64([0, 16, 5][round % 3]), 0.125, 0, nil, &scores, &got, &m, &s)
                }
                let off = head * hd
                if f16 {
                    kHalf.withUnsafeBufferPointer { k in vHalf.withUnsafeBufferPointer { v in call(k.baseAddress! + off, v.baseAddress! + off) } }
                } else {
                    k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in call(k.baseAddress! + off, v.baseAddress! + off) } }
                }
                for i in 0..<g * hd {
                    #expect(abs(got[i] - want[i]) <= 2e-5, "type \(kvType) level \(level) round \(round) i \(i)")
                }
                for h in 0..<g {
                    // The largest scaled score, and the softmax denominator relative to it.
                    var dots = [Double](repeating: 0, count: n)
                    for j in 0..<n {
                        for d in 0..<hd { dots[j] += Double(q[h * hd + d]) * Double(k[j * stride + off + d]) }
                        dots[j] *= 0.125
                    }
                    let mx = dots.max()!, sum = dots.reduce(0.0) { $0 + exp($1 - mx) }
                    #expect(abs(Double(m[h]) - mx) <= 1e-4 && abs(Double(s[h]) - sum) <= 1e-4 * sum,
                            "max/sum type \(kvType) level \(level) round \(round) head \(h)")
                }
            }
        }
    }

    /// fp32 -> fp16 rounds to nearest even on every path: equal to Swift's Float16 conversion
    /// on random values across the whole range and on the edges (overflow, subnormals, ties).
    @Test func f32ToF16MatchesSwiftFloat16() {
        var rng = SplitMix64(seed: 5)
        var xs: [Float] = [0, -0, 65504, 65519.99, 65520, -65520, 1e9, .infinity, -.infinity,
                           0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 5.9604645e-8, 6.1035156e-5,
                           1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-20, 1 + 3 * 0x1p-11]
        for _ in 0..<20_000 {
            // Random sign, exponent across fp16's range and beyond, random mantissa.
            let bits = UInt32(truncatingIfNeeded: rng.next())
            let exp = UInt32(100 + rng.next() % 46)
            xs.append(Float(bitPattern: (bits & 0x8000_0000) | (exp << 23) | (bits & 0x7F_FFFF)))
        }
        let want = xs.map { Float16($0).bitPattern }
        forEachSimdLevel { level in
            var got = [UInt16](repeating: 0, count: xs.count)
            vk_f32_to_f16(xs, &got, Int64(xs.count))
            for i in xs.indices where got[i] != want[i] {
                Issue.record("level \(level): \(xs[i]) -> \(got[i]), want \(want[i])")
                break
            }
        }
    }
}
}
