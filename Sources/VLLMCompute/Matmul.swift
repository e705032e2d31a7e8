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

/// The precision of activations in matmuls.
public enum ActivationPrecision: String, Sendable {
    /// The default: within the fidelity budget against an exact float64 forward pass (greedy
    /// identical, top-5 logprobs within 0.02, mean KL ≤ 1e-5 nats per token). On weights repacked
    /// at load the activations are taken as two int8 terms, the second the first's rounding error
    /// quantized again at 1/256 of its scale (x = d·q1 + (d/256)·q2 + e, |e| ≤ 2⁻¹⁵ of each
    /// 32-element block's largest value), multiplied in exact integer arithmetic; other weights,
    /// and long batches where the CPU lacks VNNI, run the fp32 GEMM on exactly dequantized weights.
    case float32
    /// Opt-in: activations quantized to int8 per 32 elements (one term) for the weights repacked at
    /// load and stored Q8_0 (integer dot products, as llama.cpp computes; on stored Q8_0, batches
    /// past 32 rows run the exact fp32 GEMM); slightly less faithful, and faster.
    /// Jobs may still ask for `float32` (`run(_:m:precision:)`), as the model does where it
    /// matters.
    case int8
    /// fp32 activations times exactly dequantized weights at every batch size (the fp32 GEMM and
    /// dot kernels, no int8 terms): the slowest, within fp32 rounding of float64, and what
    /// `vllm bench fidelity` measures the other modes against.
    case exact

    var kernelValue: Int32 { self == .int8 ? Int32(VK_ACT_INT8.rawValue) : Int32(VK_ACT_F32.rawValue) }

    /// Quantized rows per activation row of an m-row batch on repacked weights (0: the fp32 GEMM).
    func repackedTerms(m: Int) -> Int32 {
        switch self {
        // Long batches are compute-bound: two int8 passes beat the fp32 GEMM with vpdpbusd, not
        // with AVX2's vpmaddubsw.
        case .float32: m <= 8 || vk_simd_level() >= 2 ? 2 : 0
        case .int8: 1
        case .exact: 0
        }
    }
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
    /// Activations prepared for the kernels (packed for the GEMM, quantized for int8), grown on
    /// demand.
    private var prepared = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    private var preparedBytes = 64
    /// Chunks per thread and job: enough to even out late starts, few enough that each chunk
    /// still streams a long run of weight rows.
    private static let chunksPerThread = 4

    public init(pool: ThreadPool, activationPrecision: ActivationPrecision = .float32) {
        self.pool = pool
        self.activationPrecision = activationPrecision
    }

    deinit {
        scratch.forEach { $0.deallocate() }
        prepared.deallocate()
    }

    private func reserveScratch(columns: Int) {
        guard columns > scratchColumns else { return }
        scratch.forEach { $0.deallocate() }
        let n = Int(vk_matmul_scratch_floats(Int64(columns)))
        scratch = (0..<pool.threadCount).map { _ in .allocate(capacity: max(n, 1)) }
        scratchColumns = columns
    }

    /// Runs `jobs` on `m` activation rows; `precision` overrides the runner's activation
    /// precision for these jobs, except on an exact runner, which stays exact.
    public func run(_ jobs: [MatmulJob], m: Int, precision: ActivationPrecision? = nil) {
        reserveScratch(columns: jobs.map(\.weight.columns).max() ?? 0)
        let precision = activationPrecision == .exact ? .exact : precision ?? activationPrecision
        let scratch = self.scratch, act = precision.kernelValue, terms = precision.repackedTerms(m: m)
        let inputs = prepareActivations(jobs, m: m, precision: precision)
        // Many activation rows make chunks compute-bound and uneven in start time: many, claimed
        // in turn. A few rows stream weights from memory: one contiguous slice per thread.
        let perJob = pool.threadCount * (m > Self.memoryBoundRows ? Self.chunksPerThread : 1)
        pool.parallelForDynamic(jobs.count * perJob, pieces: jobs.count * perJob) { t, pieces in
            for c in pieces {
                let job = jobs[c / perJob], w = job.weight
                // 16-row grain keeps each chunk aligned to the GEMM panels (16 rows) and the repacked ones (8).
                let r = ThreadPool.share(of: w.rows, thread: c % perJob, of: perJob, grain: 16)
                if r.isEmpty { continue }
                if let rp = w.repacked {
                    vk_matmul_repacked(Int32(w.type.rawValue), rp.data, Int64(w.columns), Int64(r.lowerBound),
                                       Int64(r.upperBound), inputs![c / perJob], Int64(m), terms, job.y + r.lowerBound,
                                       Int64(w.rows), scratch[t])
                    continue
                }
                vk_matmul(Int32(w.type.rawValue), w.data, Int64(w.columns), Int64(r.lowerBound), Int64(r.upperBound),
                          job.x, Int64(w.columns), Int64(m), inputs?[c / perJob] ?? nil,
                          job.y + r.lowerBound, Int64(w.rows), scratch[t], act)
            }
        }
    }

    /// Activation rows up to which one pass of the multi-row dot kernels covers the batch.
    private static let memoryBoundRows = 4

    /// What each job's kernel reads its input as.
    private enum Preparation: Hashable {
        case none, packed
        /// `terms` int8 rows per activation row (vk_quantize_act_q8_terms).
        case int8(terms: Int32)
    }

    private static func preparation(_ job: MatmulJob, m: Int, precision: ActivationPrecision) -> Preparation {
        let type = Int32(job.weight.type.rawValue), act = precision.kernelValue
        let terms = precision.repackedTerms(m: m)
        if job.weight.repacked != nil { return terms == 0 ? .packed : .int8(terms: terms) }
        if vk_matmul_takes_int8(type, Int64(m), act) != 0 { return .int8(terms: 1) }
        return vk_matmul_uses_gemm(type, Int64(m), act) != 0 ? .packed : .none
    }

    /// Prepares, once per distinct input and form, the activations of the jobs that read them
    /// packed (GEMM) or quantized (int8); returns each job's prepared input, or nil when no job
    /// needs one (fp32 decode-sized batches, which then skip the bookkeeping too).
    private func prepareActivations(_ jobs: [MatmulJob], m: Int, precision: ActivationPrecision) -> [UnsafeRawPointer?]? {
        struct Input: Hashable {
            let x: UnsafePointer<Float>, k: Int, form: Preparation
        }
        let wanted = jobs.map { Input(x: $0.x, k: $0.weight.columns, form: Self.preparation($0, m: m, precision: precision)) }
        var inputs: [Input] = []
        for input in wanted where input.form != .none && !inputs.contains(input) { inputs.append(input) }
        guard !inputs.isEmpty else { return nil }
        // 64-byte alignment for each input keeps vector loads within cache lines.
        let sizes = inputs.map { input in
            let q8 = Int(vk_act_q8_bytes(Int64(input.k)))
            let bytes = switch input.form {
            case .int8(let terms): Int(terms) * m * q8
            default: Int(vk_packed_activation_floats(Int64(m), Int64(input.k))) * MemoryLayout<Float>.size
            }
            return (bytes + 63) / 64 * 64
        }
        let total = sizes.reduce(0, +)
        if total > preparedBytes {
            prepared.deallocate()
            prepared = .allocate(byteCount: total, alignment: 64)
            preparedBytes = total
        }
        var ready: [Input: UnsafeRawPointer] = [:]
        var dst = prepared
        for (input, size) in zip(inputs, sizes) {
            let out = dst
            switch input.form {
            case .int8(let terms):
                let rowBytes = Int(vk_act_q8_bytes(Int64(input.k))) * Int(terms)
                // Decode-sized batches quantize on the calling thread: waking the pool costs more.
                pool.parallelFor(m, grain: 8) { _, rows in
                    for i in rows { vk_quantize_act_q8_terms(input.x + i * input.k, Int64(input.k), terms, out + i * rowBytes) }
                }
            case .packed:
                let groups = (m + Int(VK_PACK_ROWS) - 1) / Int(VK_PACK_ROWS)
                let floats = out.assumingMemoryBound(to: Float.self)
                pool.parallelFor(groups) { _, g in
                    vk_pack_activations(input.x, Int64(input.k), Int64(m), Int64(input.k), Int64(g.lowerBound), Int64(g.upperBound), floats)
                }
            case .none:
                continue
            }
            ready[input] = UnsafeRawPointer(out)
            dst += size
        }
        return wanted.map { ready[$0] }
    }
}
