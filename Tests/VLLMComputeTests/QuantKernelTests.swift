import Foundation
import VLLMCompute
import CKernels
import Testing

extension KernelTests {
@Suite
struct QuantKernelTests {
    @Test func simdLevelSwitches() {
        let best = vk_simd_level()
        vk_force_simd_level(0)
        #expect(vk_simd_level() == 0)
        vk_force_simd_level(1)
        #expect(vk_simd_level() == min(best, 1))
        vk_force_simd_level(2)
        #expect(vk_simd_level() == best)
        #if arch(x86_64)
        #expect(best >= 1, "AVX2 machine expected in CI")
        #endif
    }

    @Test func blockGeometry() {
        let expect: [(KType, Int, Int)] = [
            (.f32, 1, 4), (.f16, 1, 2), (.bf16, 1, 2), (.q4_0, 32, 18), (.q4_1, 32, 20),
            (.q8_0, 32, 34), (.q4_K, 256, 144), (.q5_K, 256, 176), (.q6_K, 256, 210),
            (.q5_0, 32, 22), (.q5_1, 32, 24), (.q2_K, 256, 84), (.q3_K, 256, 110), (.q8_K, 256, 292),
            (.iq4_NL, 32, 18), (.iq4_XS, 256, 136), (.mxfp4, 32, 17),
        ]
        for (t, e, b) in expect {
            #expect(t.blockElements == e && t.blockBytes == b, "\(t.description)")
        }
        #expect(Set(expect.map(\.0)) == Set(KType.allCases))
        // IQ2_XXS (16), TQ1_0 (34), TQ2_0 (35): ggml types this library does not read.
        for id: Int32 in [16, 34, 35, 4, 1000] { #expect(vk_type_block_elems(id) == 0 && vk_type_block_bytes(id) == 0) }
    }

    @Test(arguments: KType.allCases)
    func dequantizeMatchesReferenceExactly(_ type: KType) {
        var rng = SplitMix64(seed: 0x1234 &+ UInt64(type.rawValue))
        for blocks in [1, 2, 3, 9] {
            let n = blocks * max(type.blockElements, 256)
            let row = randomRow(type, n, &rng)
            let ref = dequantRef(type, row, n)
            #expect(ref.allSatisfy { $0.isFinite }, "\(type.description)")
            forEachSimdLevel { level in
                let got = dequant(type, row, n)
                let same = zip(got, ref).allSatisfy { $0.bitPattern == $1.bitPattern }
                #expect(same, "\(type.description) level \(level) n \(n)")
            }
        }
    }

    @Test(arguments: KType.allCases)
    func dotMatchesReference(_ type: KType) {
        var rng = SplitMix64(seed: 0xABCD &+ UInt64(type.rawValue))
        let unit = max(type.blockElements, 1)
        var lengths = [1, 2, 3, 5, 8, 17, 40].map { $0 * max(unit, 32) }
        if unit == 1 { lengths += [1, 3, 7, 9, 15, 31, 33, 63, 100] }
        for n in lengths {
            let row = randomRow(type, n, &rng)
            let x = randomFloats(n, &rng)
            let w = dequantRef(type, row, n)
            var absSum = 0.0
            for i in 0..<n { absSum += abs(Double(x[i]) * Double(w[i])) }
            let ref = row.withUnsafeBytes { vk_dot_row_ref(type.id, $0.baseAddress, x, Int64(n)) }
            var direct = 0.0
            for i in 0..<n { direct += Double(x[i]) * Double(w[i]) }
            #expect(abs(ref - direct) <= 1e-12 * absSum + 1e-30)
            forEachSimdLevel { level in
                let got = row.withUnsafeBytes { vk_dot_row(type.id, $0.baseAddress, x, Int64(n)) }
                let err = abs(Double(got) - ref)
                #expect(err <= 1e-5 * absSum + 1e-30, "\(type.description) level \(level) n \(n) err \(err) scale \(absSum)")
            }
        }
    }

    // MARK: hand-made blocks pinned to the ggml layout

    @Test func q4_0Layout() {
        var b = [UInt8](repeating: 0, count: 18)
        putHalf(&b, 0, 0.5)
        for j in 0..<16 { b[2 + j] = UInt8(j | ((15 - j) << 4)) }
        var want = [Float](repeating: 0, count: 32)
        for j in 0..<16 {
            want[j] = Float(j - 8) * 0.5
            want[j + 16] = Float(15 - j - 8) * 0.5
        }
        forEachSimdLevel { _ in #expect(dequant(.q4_0, b, 32) == want) }
        #expect(dequantRef(.q4_0, b, 32) == want)
    }

    @Test func q4_1Layout() {
        var b = [UInt8](repeating: 0, count: 20)
        putHalf(&b, 0, 0.5)
        putHalf(&b, 2, -1)
        for j in 0..<16 { b[4 + j] = UInt8(j | ((15 - j) << 4)) }
        var want = [Float](repeating: 0, count: 32)
        for j in 0..<16 {
            want[j] = Float(j) * 0.5 - 1
            want[j + 16] = Float(15 - j) * 0.5 - 1
        }
        forEachSimdLevel { _ in #expect(dequant(.q4_1, b, 32) == want) }
        #expect(dequantRef(.q4_1, b, 32) == want)
        // Dot with all-ones x: sum of the weights.
        let x = [Float](repeating: 1, count: 32)
        forEachSimdLevel { _ in
            let d = b.withUnsafeBytes { vk_dot_row(KType.q4_1.id, $0.baseAddress, x, 32) }
            #expect(d == want.reduce(0, +))
        }
    }

    @Test func q8_0Layout() {
        var b = [UInt8](repeating: 0, count: 34)
        putHalf(&b, 0, 0.25)
        for j in 0..<32 { b[2 + j] = UInt8(bitPattern: Int8(j * 8 - 128)) }
        let want = (0..<32).map { Float($0 * 8 - 128) * 0.25 }
        forEachSimdLevel { _ in #expect(dequant(.q8_0, b, 32) == want) }
        #expect(dequantRef(.q8_0, b, 32) == want)
    }

    /// ggml's 6-bit scale/min packing (as its quantize_row_q4_K writes it).
    static func packScales(_ sc: [UInt8], _ mn: [UInt8]) -> [UInt8] {
        var s = [UInt8](repeating: 0, count: 12)
        for j in 0..<8 {
            if j < 4 {
                s[j] = sc[j]
                s[j + 4] = mn[j]
            } else {
                s[j + 4] = (sc[j] & 0xF) | ((mn[j] & 0xF) << 4)
                s[j - 4] |= (sc[j] >> 4) << 6
                s[j] |= (mn[j] >> 4) << 6
            }
        }
        return s
    }

    static let kScales: [UInt8] = [1, 2, 3, 63, 17, 33, 48, 5]
    static let kMins: [UInt8] = [0, 7, 62, 1, 20, 40, 63, 9]

    @Test func q4_KLayout() {
        var b = [UInt8](repeating: 0, count: 144)
        putHalf(&b, 0, 1.0)
        putHalf(&b, 2, 0.5)
        b.replaceSubrange(4..<16, with: Self.packScales(Self.kScales, Self.kMins))
        var want = [Float](repeating: 0, count: 256)
        for e in 0..<256 {
            let q = (e * 7 + 3) % 16
            let chunk = e / 64, w = e % 64
            let byte = 16 + 32 * chunk + (w % 32)
            b[byte] |= w < 32 ? UInt8(q) : UInt8(q << 4)
            let sub = e / 32
            want[e] = 1.0 * Float(Self.kScales[sub]) * Float(q) - 0.5 * Float(Self.kMins[sub])
        }
        forEachSimdLevel { _ in #expect(dequant(.q4_K, b, 256) == want) }
        #expect(dequantRef(.q4_K, b, 256) == want)
    }

    @Test func q5_KLayout() {
        var b = [UInt8](repeating: 0, count: 176)
        putHalf(&b, 0, 0.5)
        putHalf(&b, 2, 0.25)
        b.replaceSubrange(4..<16, with: Self.packScales(Self.kScales, Self.kMins))
        var want = [Float](repeating: 0, count: 256)
        for e in 0..<256 {
            let q = (e * 11 + 5) % 32
            let chunk = e / 64, w = e % 64
            b[48 + 32 * chunk + (w % 32)] |= w < 32 ? UInt8(q & 15) : UInt8((q & 15) << 4)
            if q >= 16 { b[16 + (w % 32)] |= UInt8(1 << (2 * chunk + (w < 32 ? 0 : 1))) }
            let sub = e / 32
            want[e] = 0.5 * Float(Self.kScales[sub]) * Float(q) - 0.25 * Float(Self.kMins[sub])
        }
        forEachSimdLevel { _ in #expect(dequant(.q5_K, b, 256) == want) }
        #expect(dequantRef(.q5_K, b, 256) == want)
    }

    @Test func q6_KLayout() {
        var b = [UInt8](repeating: 0, count: 210)
        let scales: [Int8] = [1, -2, 3, -4, 5, -6, 7, -8, 127, -128, 0, 11, -12, 13, 64, -1]
        for i in 0..<16 { b[192 + i] = UInt8(bitPattern: scales[i]) }
        putHalf(&b, 208, 0.25)
        var want = [Float](repeating: 0, count: 256)
        for e in 0..<256 {
            let q = (e * 13 + 1) % 64
            let h = e / 128, t = e % 128, g = t / 32, l = t % 32
            let qlIndex = 64 * h + l + (g & 1) * 32
            b[qlIndex] |= g < 2 ? UInt8(q & 15) : UInt8((q & 15) << 4)
            b[128 + 32 * h + l] |= UInt8(q >> 4) << (2 * g)
            want[e] = 0.25 * Float(scales[e / 16]) * Float(q - 32)
        }
        forEachSimdLevel { _ in #expect(dequant(.q6_K, b, 256) == want) }
        #expect(dequantRef(.q6_K, b, 256) == want)
    }

    @Test func q5_0Layout() {
        var b = [UInt8](repeating: 0, count: 22)
        putHalf(&b, 0, 0.5)
        // Element e's fifth bit is bit e of the little-endian word qh, its nibble as in Q4_0.
        var want = [Float](repeating: 0, count: 32)
        for e in 0..<32 {
            let q = (e * 7 + 3) % 32
            if q >= 16 { b[2 + e / 8] |= UInt8(1 << (e % 8)) }
            b[6 + e % 16] |= e < 16 ? UInt8(q & 15) : UInt8((q & 15) << 4)
            want[e] = Float(q - 16) * 0.5
        }
        forEachSimdLevel { _ in #expect(dequant(.q5_0, b, 32) == want) }
        #expect(dequantRef(.q5_0, b, 32) == want)
    }

    @Test func q3_KLayout() {
        var b = [UInt8](repeating: 0, count: 110)
        putHalf(&b, 108, 0.25)
        let scales = (0..<16).map { UInt8(($0 * 23 + 5) % 64) }
        for s in 0..<16 {
            b[96 + s % 8] |= s < 8 ? scales[s] & 15 : (scales[s] & 15) << 4
            b[104 + s % 4] |= (scales[s] >> 4) << (2 * (s / 4))
        }
        var want = [Float](repeating: 0, count: 256)
        for e in 0..<256 {
            let q = (e * 5 + 2) % 8 - 4  // -4 ... 3
            let n = e / 128, j = (e % 128) / 32, l = e % 32
            let u = q + 4  // bit 2 set: the high-bit mask bit is set and nothing is subtracted
            b[32 + 32 * n + l] |= UInt8(u & 3) << (2 * j)
            if u >= 4 { b[l] |= UInt8(1 << (4 * n + j)) }
            want[e] = 0.25 * Float(Int(scales[e / 16]) - 32) * Float(u & 3 - (u >= 4 ? 0 : 4))
            #expect(u & 3 - (u >= 4 ? 0 : 4) == q)
        }
        forEachSimdLevel { _ in #expect(dequant(.q3_K, b, 256) == want) }
        #expect(dequantRef(.q3_K, b, 256) == want)
    }

    /// Q8_K (fp32 d, 256 int8, 16 int16 sums) has no gguf-py dequantizer to compare with.
    @Test func q8_KLayout() {
        var b = [UInt8](repeating: 0, count: 292)
        withUnsafeBytes(of: Float(0.375).bitPattern.littleEndian) { b.replaceSubrange(0..<4, with: $0) }
        for j in 0..<256 { b[4 + j] = UInt8(bitPattern: Int8(truncatingIfNeeded: j * 37 - 128)) }
        for j in 260..<292 { b[j] = 0xA5 }  // the sums do not enter the values
        let want = (0..<256).map { Float(Int8(truncatingIfNeeded: $0 * 37 - 128)) * 0.375 }
        forEachSimdLevel { _ in #expect(dequant(.q8_K, b, 256) == want) }
        #expect(dequantRef(.q8_K, b, 256) == want)
    }

    /// MXFP4: E8M0 scale byte e (2^(e - 127)), then E2M1 codes as nibbles in Q4_0's order; the
    /// scales include e = 0 and 1, which land in fp32's subnormals, and e = 254.
    @Test func mxfp4Layout() {
        let e2m1: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]
        let exponents: [UInt8] = [0, 1, 127, 128, 130, 100, 254, 2]
        var b = [UInt8](repeating: 0, count: 17 * exponents.count)
        var want = [Float](repeating: 0, count: 32 * exponents.count)
        for (i, e) in exponents.enumerated() {
            b[17 * i] = e
            for j in 0..<32 {
                let code = (j * 7 + i) % 16
                b[17 * i + 1 + j % 16] |= j < 16 ? UInt8(code) : UInt8(code << 4)
                want[32 * i + j] = Float(sign: .plus, exponent: Int(e) - 127, significand: 1) * e2m1[code]
            }
        }
        forEachSimdLevel { _ in #expect(dequant(.mxfp4, b, want.count) == want) }
        #expect(dequantRef(.mxfp4, b, want.count) == want)
    }

    @Test func iq4_XSLayout() {
        var b = [UInt8](repeating: 0, count: 136)
        putHalf(&b, 0, 0.5)
        let levels: [Float] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
        let ls = (0..<8).map { ($0 * 19 + 7) % 64 }
        var high: UInt16 = 0
        for s in 0..<8 {
            b[4 + s / 2] |= UInt8(ls[s] & 15) << (4 * (s % 2))
            high |= UInt16(ls[s] >> 4) << (2 * s)
        }
        b[2] = UInt8(high & 0xFF); b[3] = UInt8(high >> 8)
        var want = [Float](repeating: 0, count: 256)
        for e in 0..<256 {
            let idx = (e * 9 + 4) % 16, s = e / 32, w = e % 32
            b[8 + 16 * s + w % 16] |= w < 16 ? UInt8(idx) : UInt8(idx << 4)
            want[e] = 0.5 * Float(ls[s] - 32) * levels[idx]
        }
        forEachSimdLevel { _ in #expect(dequant(.iq4_XS, b, 256) == want) }
        #expect(dequantRef(.iq4_XS, b, 256) == want)
    }

    @Test func floatLayouts() {
        let halves: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x03FF, 0x8400, 0x7BFF, 0x3555, 0x7C00, 0xFC00, 0x8000,
                                0x0400, 0x1234, 0xB4CD, 0x5A5A, 0x0200, 0x8001, 0x2E66]
        var hb = [UInt8]()
        for h in halves { hb += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let wantH = halves.map { Float(Float16(bitPattern: $0)) }
        #expect(dequantRef(.f16, hb, halves.count) == wantH)
        forEachSimdLevel { _ in #expect(dequant(.f16, hb, halves.count) == wantH) }

        let bf: [UInt16] = [0x3F80, 0xC040, 0x0001, 0x7F7F, 0x4049, 0xBDCC, 0x8000, 0x1234, 0x7F80]
        var bb = [UInt8]()
        for h in bf { bb += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let wantB = bf.map { Float(bitPattern: UInt32($0) << 16) }
        #expect(wantB[0] == 1 && wantB[1] == -3)
        #expect(dequantRef(.bf16, bb, bf.count) == wantB)
        forEachSimdLevel { _ in #expect(dequant(.bf16, bb, bf.count) == wantB) }

        let fs: [Float] = [1, -2.5, .pi, 1e-30, -0.0, 65504, 3]
        let fb = fs.withUnsafeBytes { Array($0) }
        forEachSimdLevel { _ in #expect(dequant(.f32, fb, fs.count) == fs) }
    }
}
}
