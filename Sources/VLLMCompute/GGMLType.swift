import CKernels

/// A ggml tensor element type, with the ids GGUF stores in its tensor infos.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q2_K = 10, q3_K = 11
    case q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15, iq4_NL = 20, iq4_XS = 23, bf16 = 30, mxfp4 = 39

    /// Elements per quantization block.
    public var blockElements: Int { Int(vk_type_block_elems(Int32(rawValue))) }
    /// Bytes per quantization block.
    public var blockBytes: Int { Int(vk_type_block_bytes(Int32(rawValue))) }

    /// Bytes taken by `count` elements, or nil when `count` is not a whole number of blocks.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockElements == 0 else { return nil }
        let (bytes, overflow) = (count / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    public var description: String { Self.name(id: rawValue)! }

    /// The name ggml gives type id `id` (ggml.h `enum ggml_type`, which GGUF tensor infos store),
    /// whether or not this engine supports it; nil for ids ggml never assigned. Ids ggml has
    /// since dropped from GGUF files keep their old names so an error can say what the file holds.
    public static func name(id: UInt32) -> String? {
        switch id {
        case 0: "F32"
        case 1: "F16"
        case 2: "Q4_0"
        case 3: "Q4_1"
        case 4: "Q4_2"
        case 5: "Q4_3"
        case 6: "Q5_0"
        case 7: "Q5_1"
        case 8: "Q8_0"
        case 9: "Q8_1"
        case 10: "Q2_K"
        case 11: "Q3_K"
        case 12: "Q4_K"
        case 13: "Q5_K"
        case 14: "Q6_K"
        case 15: "Q8_K"
        case 16: "IQ2_XXS"
        case 17: "IQ2_XS"
        case 18: "IQ3_XXS"
        case 19: "IQ1_S"
        case 20: "IQ4_NL"
        case 21: "IQ3_S"
        case 22: "IQ2_S"
        case 23: "IQ4_XS"
        case 24: "I8"
        case 25: "I16"
        case 26: "I32"
        case 27: "I64"
        case 28: "F64"
        case 29: "IQ1_M"
        case 30: "BF16"
        case 31: "Q4_0_4_4"
        case 32: "Q4_0_4_8"
        case 33: "Q4_0_8_8"
        case 34: "TQ1_0"
        case 35: "TQ2_0"
        case 36: "IQ4_NL_4_4"
        case 37: "IQ4_NL_4_8"
        case 38: "IQ4_NL_8_8"
        case 39: "MXFP4"
        default: nil
        }
    }

    /// Ids ggml no longer accepts in GGUF files (old Q4 variants, online-repacked layouts).
    static let removedIDs: Set<UInt32> = [4, 5, 31, 32, 33, 36, 37, 38]

    /// "Q5_0 (ggml type 6)", or "unknown ggml type 99": for messages about a file's tensor types.
    public static func describe(id: UInt32) -> String {
        guard let name = name(id: id) else { return "unknown ggml type \(id)" }
        return removedIDs.contains(id) ? "\(name) (ggml type \(id), removed from ggml)" : "\(name) (ggml type \(id))"
    }
}
