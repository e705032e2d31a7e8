import VLLMCompute
import CKernels
import Foundation
import Testing

extension KernelTests {
/// Dequantization against ggml's definition as gguf-py (llama.cpp's Python reader) computes it:
/// Fixtures/quant, made by scripts/make-quant-fixtures.py. gguf-py evaluates the same float32
/// operations in the same order as ggml's scalar code (scale products first, e.g. Q2_K's
/// (d*sc)*q - dmin*m, each rounded), so the values must agree bit for bit, at every SIMD level.
@Suite
struct GGUFPyFixtureTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/quant")

    /// Every block type gguf-py can dequantize has random blocks; the ones it can quantize also
    /// have its quantization of random floats. (Q8_K has no gguf-py dequantizer: q8_KLayout.)
    static let random: [KType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS,
                                  .mxfp4]
    static let quantized: [KType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .mxfp4]
    static let cases = random.map { "\($0.description)-random" } + quantized.map { "\($0.description)-quantized" }

    struct Case {
        let type: KType
        let blocks: [UInt8]
        let values: [Float]
    }

    /// b"VKQF", u32 type id, u32 element count, u32 byte count, the blocks, the float32 values.
    static func load(_ name: String) throws -> Case {
        let data = try [UInt8](Data(contentsOf: dir.appendingPathComponent("\(name).bin")))
        func u32(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24 }
        #expect(Array(data[0..<4]) == Array("VKQF".utf8))
        let type = try #require(KType(rawValue: UInt32(u32(4))))
        let n = u32(8), nbytes = u32(12)
        #expect(type.byteCount(elements: n) == nbytes && data.count == 16 + nbytes + 4 * n, "\(name)")
        let values = (0..<n).map { Float(bitPattern: UInt32(u32(16 + nbytes + 4 * $0))) }
        return Case(type: type, blocks: Array(data[16..<(16 + nbytes)]), values: values)
    }

    @Test(arguments: cases)
    func dequantizeMatchesGGUFPy(_ name: String) throws {
        let c = try Self.load(name)
        #expect(name.hasPrefix(c.type.description + "-"))
        let n = c.values.count
        func mismatches(_ got: [Float]) -> Int { zip(got, c.values).filter { $0.bitPattern != $1.bitPattern }.count }
        #expect(mismatches(dequantRef(c.type, c.blocks, n)) == 0, "\(name) reference")
        forEachSimdLevel { level in
            #expect(mismatches(dequant(c.type, c.blocks, n)) == 0, "\(name) level \(level)")
        }
    }
}
}
