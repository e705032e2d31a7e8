import CKernels
import VLLMCompute

/// `--dtype` (vLLM's meaning, for weights; activations are fp32 on this CPU engine): `auto`
/// keeps each float weight as the checkpoint stores it (16-bit stays 16-bit, used in place);
/// the others convert float weights to that type once at load. Quantized GGUF weights are
/// never converted.
public enum ModelDType: String, Sendable, CaseIterable {
    case auto, bfloat16, float16, float32

    /// vLLM's names, aliases included ("half", "float").
    public init?(vllmName: String) {
        switch vllmName {
        case "half": self = .float16
        case "float": self = .float32
        default: self.init(rawValue: vllmName)
        }
    }

    /// The type float weights of `stored` type end up as.
    func target(for stored: GGMLType) -> GGMLType {
        guard [.f32, .f16, .bf16].contains(stored) else { return stored }
        switch self {
        case .auto: return stored
        case .bfloat16: return .bf16
        case .float16: return .f16
        case .float32: return .f32
        }
    }
}

/// Weights converted at load (`--dtype` asked for another float type): owns their memory.
final class ConvertedWeights: @unchecked Sendable {
    private var buffers: [UnsafeMutableRawPointer] = []

    deinit { buffers.forEach { $0.deallocate() } }

    /// Columns `range` of every row of `m` (whole blocks), copied: a row-parallel rank's part.
    func columns(_ m: WeightMatrix, _ range: Range<Int>) -> WeightMatrix {
        let e = m.type.blockElements
        precondition(range.lowerBound % e == 0 && range.count % e == 0 && range.upperBound <= m.columns)
        let rowBytes = range.count / e * m.type.blockBytes, skip = range.lowerBound / e * m.type.blockBytes
        let out = UnsafeMutableRawPointer.allocate(byteCount: max(m.rows * rowBytes, 1), alignment: 64)
        buffers.append(out)
        for r in 0..<m.rows { (out + r * rowBytes).copyMemory(from: m.data + r * m.rowBytes + skip, byteCount: rowBytes) }
        return WeightMatrix(type: m.type, data: UnsafeRawPointer(out), rows: m.rows, columns: range.count)
    }

    /// `t`'s elements converted to `type` (f32, f16 or bf16; round to nearest even).
    func convert(_ t: SourceTensor, to type: GGMLType) -> UnsafeRawPointer {
        let n = t.columns
        let out = UnsafeMutableRawPointer.allocate(byteCount: max(t.rows * n * type.blockBytes, 1), alignment: 64)
        buffers.append(out)
        let rowIn = n * t.type.blockBytes
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { row in
            for r in 0..<t.rows {
                vk_dequantize_row(Int32(t.type.rawValue), t.data + r * rowIn, row.baseAddress!, Int64(n))
                let dst = out + r * n * type.blockBytes
                switch type {
                case .f32: dst.copyMemory(from: row.baseAddress!, byteCount: n * 4)
                case .f16: vk_f32_to_f16(row.baseAddress!, dst.assumingMemoryBound(to: UInt16.self), Int64(n))
                default:
                    let d = dst.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<n { d[i] = Self.bf16(row[i]) }
                }
            }
        }
        return UnsafeRawPointer(out)
    }

    /// fp32 → bf16, rounding to nearest even (NaN kept a NaN), as torch's `.to(torch.bfloat16)`.
    static func bf16(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }
}
