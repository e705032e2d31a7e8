import CKernels

/// One product y = x·Wᵀ for `m` activation rows: x is m×columns, y is m×rows (row-major).
public struct MatmulJob: @unchecked Sendable {
    public let weight: WeightMatrix
    public let x: UnsafePointer<Float>
    public let y: UnsafeMutablePointer<Float>
    public init(weight: WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.weight = weight
        self.x = x
        self.y = y
    }
}

/// Runs matmuls on a thread pool. Each job's output rows are cut into a few chunks per thread
/// that threads claim in turn (`parallelForDynamic`), so a thread that starts late (woken from sleep,
/// or preempted) takes fewer chunks instead of holding everyone at the end. Several jobs share
/// one dispatch (e.g. Q, K and V).
public final class MatmulRunner: @unchecked Sendable {
    public let pool: ThreadPool
    private var scratch: [UnsafeMutablePointer<Float>] = []
    private var scratchColumns = 0
    /// Chunks per thread and job: enough to even out late starts, few enough that each chunk
    /// still streams a long run of weight rows.
    private static let chunksPerThread = 4

    public init(pool: ThreadPool) { self.pool = pool }

    deinit { scratch.forEach { $0.deallocate() } }

    private func reserveScratch(columns: Int) {
        guard columns > scratchColumns else { return }
        scratch.forEach { $0.deallocate() }
        let n = Int(vk_matmul_scratch_floats(Int64(columns)))
        scratch = (0..<pool.threadCount).map { _ in .allocate(capacity: max(n, 1)) }
        scratchColumns = columns
    }

    public func run(_ jobs: [MatmulJob], m: Int) {
        reserveScratch(columns: jobs.map(\.weight.columns).max() ?? 0)
        let scratch = self.scratch
        let perJob = pool.threadCount == 1 ? 1 : pool.threadCount * Self.chunksPerThread
        pool.parallelForDynamic(jobs.count * perJob, pieces: jobs.count * perJob) { t, pieces in
            for c in pieces {
                let job = jobs[c / perJob], w = job.weight
                // 16-row grain keeps each chunk aligned to the GEMM panel height.
                let r = ThreadPool.share(of: w.rows, thread: c % perJob, of: perJob, grain: 16)
                if r.isEmpty { continue }
                vk_matmul(Int32(w.type.rawValue), w.data, Int64(w.columns), Int64(r.lowerBound), Int64(r.upperBound),
                          job.x, Int64(w.columns), Int64(m), job.y + r.lowerBound, Int64(w.rows), scratch[t])
            }
        }
    }
}
