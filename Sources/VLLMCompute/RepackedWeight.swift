import CKernels

/// A weight matrix's rows repacked once at load: 8 rows interleaved per panel so that one vector
/// load feeds a byte dot product for all 8, 4-bit types still 4-bit and scales as stored (layout:
/// repack_q8.c). Every matmul on the matrix reads this instead of the stored rows: the int8
/// kernels for decode-sized batches (and all batches with int8 activations), the fp32 GEMM,
/// dequantizing its panels from here, for longer ones.
public final class RepackedWeight: @unchecked Sendable {
    public let data: UnsafeRawPointer

    /// Repacks `weight` with `pool`'s threads, or returns nil when this CPU has no fast kernel
    /// for the repacked form of its type (the stored rows are then used as they are).
    public init?(_ weight: WeightMatrix, pool: ThreadPool) {
        let type = Int32(weight.type.rawValue), rows = Int64(weight.rows), k = Int64(weight.columns)
        let bytes = Int(vk_repack_bytes(type, rows, k))
        guard vk_repack_preferred(type) != 0, bytes > 0 else { return nil }
        let out = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        pool.parallelFor((weight.rows + 7) / 8) { _, panels in
            vk_repack(type, weight.data, rows, k, Int64(panels.lowerBound), Int64(panels.upperBound), out)
        }
        data = UnsafeRawPointer(out)
    }

    /// Whether this CPU repacks weights of `type` (has a fast kernel for the repacked form).
    public static func isPreferred(for type: GGMLType) -> Bool { vk_repack_preferred(Int32(type.rawValue)) != 0 }

    deinit { UnsafeMutableRawPointer(mutating: data).deallocate() }
}
