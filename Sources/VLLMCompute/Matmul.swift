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

/// The precision activations have in decode-sized matmuls (the per-row dot path; prefill-sized
/// batches always run the fp32 GEMM).
public enum ActivationPrecision: String, Sendable, CaseIterable {
    /// fp32 activations times exactly dequantized weights: tracks an exact forward pass to fp32
    /// rounding. The default.
    case float32
    /// Opt-in: activations quantized to int8 per 32 elements for Q4_0, Q4_1, Q8_0, Q4_K and Q6_K
    /// weights (integer dot products, as llama.cpp computes); slightly less faithful, and faster
    /// on K-quant weights (on this AVX2 path the 32-element formats are not faster yet).
    /// Jobs may still ask for fp32 (`run(_:m:precision:)`), as the model does where it matters.
    case int8

    var kernelValue: Int32 { self == .int8 ? Int32(VK_ACT_INT8.rawValue) : Int32(VK_ACT_F32.rawValue) }
}

/// Runs matmuls on a thread pool. Each job's output rows are cut into a few chunks per thread
/// that threads claim in turn (`parallelForDynamic`), so a thread that starts late (woken from sleep,
/// or preempted) takes fewer chunks instead of holding everyone at the end. Several jobs share
/// one dispatch (e.g. Q, K and V).
public final class MatmulRunner: @unchecked Sendable {
    public let pool: ThreadPool
    public let activationPrecision: ActivationPrecision
    private var scratch: [UnsafeMutablePointer<Float>] = []
    private var scratchColumns = 0
    /// Packed activations for the GEMM path, grown on demand.
    private var packedBuffer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var packedCapacity = 0
    /// Chunks per thread and job: enough to even out late starts, few enough that each chunk
    /// still streams a long run of weight rows.
    private static let chunksPerThread = 4

    public init(pool: ThreadPool, activationPrecision: ActivationPrecision = .float32) {
        self.pool = pool
        self.activationPrecision = activationPrecision
    }

    deinit {
        scratch.forEach { $0.deallocate() }
        packedBuffer.deallocate()
    }

    private func reserveScratch(columns: Int) {
        guard columns > scratchColumns else { return }
        scratch.forEach { $0.deallocate() }
        let n = Int(vk_matmul_scratch_floats(Int64(columns)))
        scratch = (0..<pool.threadCount).map { _ in .allocate(capacity: max(n, 1)) }
        scratchColumns = columns
    }

    /// Runs `jobs` on `m` activation rows; `precision` overrides the runner's activation
    /// precision for these jobs.
    public func run(_ jobs: [MatmulJob], m: Int, precision: ActivationPrecision? = nil) {
        reserveScratch(columns: jobs.map(\.weight.columns).max() ?? 0)
        let scratch = self.scratch, act = (precision ?? activationPrecision).kernelValue
        let packed = packActivations(jobs, m: m, act: act)
        let gemm = packed != nil
        // GEMM chunks are compute-bound and uneven in start time: many, claimed in turn. The
        // per-row dot path streams weights from memory: one contiguous slice per thread.
        let perJob = pool.threadCount * (gemm ? Self.chunksPerThread : 1)
        pool.parallelForDynamic(jobs.count * perJob, pieces: jobs.count * perJob) { t, pieces in
            for c in pieces {
                let job = jobs[c / perJob], w = job.weight
                // 16-row grain keeps each chunk aligned to the GEMM panel height.
                let r = ThreadPool.share(of: w.rows, thread: c % perJob, of: perJob, grain: 16)
                if r.isEmpty { continue }
                vk_matmul(Int32(w.type.rawValue), w.data, Int64(w.columns), Int64(r.lowerBound), Int64(r.upperBound),
                          job.x, Int64(w.columns), Int64(m), packed?[c / perJob] ?? nil,
                          job.y + r.lowerBound, Int64(w.rows), scratch[t], act)
            }
        }
    }

    /// Packs, once per distinct input, the activations of the jobs that take the GEMM path;
    /// returns each job's packed input, or nil when no job does (decode-sized batches, which
    /// then skip the bookkeeping too).
    private func packActivations(_ jobs: [MatmulJob], m: Int, act: Int32) -> [UnsafePointer<Float>?]? {
        var inputs: [(x: UnsafePointer<Float>, k: Int)] = []
        for job in jobs where vk_matmul_uses_gemm(Int32(job.weight.type.rawValue), Int64(m), act) != 0 {
            if !inputs.contains(where: { $0.x == job.x }) { inputs.append((job.x, job.weight.columns)) }
        }
        guard !inputs.isEmpty else { return nil }
        let sizes = inputs.map { Int(vk_packed_activation_floats(Int64(m), Int64($0.k))) }
        let total = sizes.reduce(0, +)
        if total > packedCapacity {
            packedBuffer.deallocate()
            packedBuffer = .allocate(capacity: total)
            packedCapacity = total
        }
        var packed: [UnsafePointer<Float>: UnsafePointer<Float>] = [:]
        var dst = packedBuffer
        for (input, size) in zip(inputs, sizes) {
            let groups = (m + Int(VK_PACK_ROWS) - 1) / Int(VK_PACK_ROWS), out = dst
            pool.parallelFor(groups) { _, g in
                vk_pack_activations(input.x, Int64(input.k), Int64(m), Int64(input.k), Int64(g.lowerBound), Int64(g.upperBound), out)
            }
            packed[input.x] = UnsafePointer(out)
            dst += size
        }
        return jobs.map { packed[$0.x] }
    }
}
