import VLLMCompute
import CKernels
import Testing

/// Kernel tests switch the process-wide SIMD level, so all of them run one at a time, in one
/// serialized parent suite.
@Suite(.serialized) enum KernelTests {}

extension SplitMix64 {
    mutating func float(_ lo: Float, _ hi: Float) -> Float { Float.random(in: lo..<hi, using: &self) }
}

/// The kernel tests name types with the library's own ggml type ids.
typealias KType = GGMLType

extension GGMLType {
    /// The id as the C kernels take it.
    var id: Int32 { Int32(rawValue) }
}

@inline(__always) func putHalf(_ bytes: inout [UInt8], _ offset: Int, _ value: Float) {
    let bits = Float16(value).bitPattern
    bytes[offset] = UInt8(bits & 0xFF)
    bytes[offset + 1] = UInt8(bits >> 8)
}

/// Random storage for `n` elements of `type`: random quant bytes, finite and reasonable scales.
func randomRow(_ type: KType, _ n: Int, _ rng: inout SplitMix64) -> [UInt8] {
    let nb = n / type.blockElements
    var bytes = (0..<(nb * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let bb = type.blockBytes
    for b in 0..<nb {
        let o = b * bb
        switch type {
        case .f32:
            let v = rng.float(-2, 2).bitPattern
            for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
        case .f16:
            putHalf(&bytes, o, rng.float(-2, 2))
        case .bf16:
            let v = rng.float(-2, 2).bitPattern >> 16
            bytes[o] = UInt8(v & 0xFF); bytes[o + 1] = UInt8(v >> 8)
        case .q4_0, .q5_0, .q8_0:
            putHalf(&bytes, o, rng.float(0.001, 0.1) * (rng.next() & 1 == 0 ? 1 : -1))
        case .mxfp4:
            // E8M0 scales 2^-10 .. 2^9, and now and then one of the subnormal ones (e < 2).
            bytes[o] = rng.next() % 16 == 0 ? UInt8(rng.next() % 3) : UInt8(118 + rng.next() % 20)
        case .iq4_NL:
            putHalf(&bytes, o, rng.float(0.0001, 0.01) * (rng.next() & 1 == 0 ? 1 : -1))
        case .q4_1, .q5_1:
            putHalf(&bytes, o, rng.float(0.001, 0.1))
            putHalf(&bytes, o + 2, rng.float(-0.8, 0.2))
        case .q4_K, .q5_K:
            putHalf(&bytes, o, rng.float(0.0005, 0.01))
            putHalf(&bytes, o + 2, rng.float(0.0005, 0.01))
        case .q6_K:
            putHalf(&bytes, o + 208, rng.float(0.0001, 0.002))
        case .q2_K:
            putHalf(&bytes, o + 80, rng.float(0.001, 0.05))
            putHalf(&bytes, o + 82, rng.float(0.001, 0.05))
        case .q3_K:
            putHalf(&bytes, o + 108, rng.float(0.0005, 0.01) * (rng.next() & 1 == 0 ? 1 : -1))
        case .iq4_XS:
            putHalf(&bytes, o, rng.float(0.00001, 0.001) * (rng.next() & 1 == 0 ? 1 : -1))
        case .q8_K:
            // fp32 d, then bsums that match the random quants (as ggml's quantizer writes them).
            let d = rng.float(0.0005, 0.02).bitPattern
            for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: d >> (8 * UInt32(i))) }
            for g in 0..<16 {
                var sum = 0
                for j in 0..<16 { sum += Int(Int8(bitPattern: bytes[o + 4 + 16 * g + j])) }
                let s = UInt16(bitPattern: Int16(sum))
                bytes[o + 260 + 2 * g] = UInt8(s & 0xFF)
                bytes[o + 261 + 2 * g] = UInt8(s >> 8)
            }
        }
    }
    return bytes
}

func randomFloats(_ n: Int, _ rng: inout SplitMix64, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
    (0..<n).map { _ in rng.float(lo, hi) }
}

func dequantRef(_ type: KType, _ row: [UInt8], _ n: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: n)
    row.withUnsafeBytes { w in out.withUnsafeMutableBufferPointer { o in
        vk_dequantize_row_ref(type.id, w.baseAddress, o.baseAddress, Int64(n))
    } }
    return out
}

func dequant(_ type: KType, _ row: [UInt8], _ n: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: n)
    row.withUnsafeBytes { w in out.withUnsafeMutableBufferPointer { o in
        vk_dequantize_row(type.id, w.baseAddress, o.baseAddress, Int64(n))
    } }
    return out
}

/// Runs `body` on every SIMD level this CPU has (portable, AVX2, AVX-512), restoring the best.
/// (Not inlined: Swift 6.3's SILCombine crashed on one caller's pointer arguments inlined here.)
@inline(never)
func forEachSimdLevel(_ body: (Int32) throws -> Void) rethrows {
    defer { vk_force_simd_level(2) }
    vk_force_simd_level(2)
    let best = vk_simd_level()
    for level in 0...best {
        vk_force_simd_level(level)
        try body(vk_simd_level())
    }
}
