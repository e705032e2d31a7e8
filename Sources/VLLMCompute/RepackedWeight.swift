import CKernels

/// A weight matrix's rows repacked once at load for the int8-activation kernels: 8 rows
/// interleaved per panel so that one vector load feeds a byte dot product for all 8, 4-bit types
/// still 4-bit and scales as stored (layout: repack_q8.c). Matmuls with int8 activations read
/// this instead of the stored rows.
public final class RepackedWeight: @unchecked Sendable {
    public let data: UnsafeRawPointer
    public let byteCount: Int

    /// Repacks `weight` with `pool`'s threads, or returns nil when this CPU has no fast kernel
    /// for the repacked form of its type (the stored rows are then used as they are).
    public init?(_ weight: WeightMatrix, pool: ThreadPool) {
        let type = Int32(weight.type.rawValue), rows = Int64(weight.rows), k = Int64(weight.columns)
        byteCount = Int(vk_repack_bytes(type, rows, k))
        guard vk_repack_preferred(type) != 0, byteCount > 0 else { return nil }
        let out = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        pool.parallelFor((weight.rows + 7) / 8) { _, panels in
            vk_repack(type, weight.data, rows, k, Int64(panels.lowerBound), Int64(panels.upperBound), out)
        }
        data = UnsafeRawPointer(out)
    }

    deinit { UnsafeMutableRawPointer(mutating: data).deallocate() }
}
