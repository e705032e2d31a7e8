import Foundation
import Testing
import VLLMCompute
import VLLMTestSupport
@testable import VLLMModels

/// Every dense architecture's tiny checkpoint split over 2 and 4 ranks (threads of this process,
/// meeting through an in-process communicator) computes the logits the whole model computes:
/// the same sums in another order, so within 1e-4 with fp32 activations and KV cache. Covers
/// the split of Q/K/V (with biases, per-head norms, fused QKV), the attention output, the MLP
/// (fused gate/up), replicated KV heads (4 ranks, 2 KV heads), the vocabulary-parallel embedding
/// (with Gemma's scale) and the gathered LM head.
@Suite struct TensorParallelShardTests {
    static let architectures = ["llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"]

    @Test(arguments: architectures, [2, 4])
    func shardsComputeTheWholeModelsLogits(arch: String, ranks: Int) throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("\(arch)/hf").path
        let whole = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact)
        let expected = Self.run(whole, rank: 0)
        let group = ThreadGroup(size: ranks)
        let parts = try (0..<ranks).map { r in
            try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                             tensorParallel: ThreadRank(rank: r, group: group))
        }
        #expect(parts[0].config.headCount * ranks == whole.config.headCount)
        let results = Self.runRanks(parts)
        #expect(results[0].count == expected.count)
        let worst = zip(results[0], expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "\(arch) over \(ranks) ranks: logits differ by \(worst)")
        #expect(results.dropFirst().allSatisfy { $0.isEmpty }, "only rank 0 receives the logits")
    }

    /// A LoRA adapter on every module (Phi-3's fused QKV and gate/up included) split as the
    /// layers are: each rank's part corrects its rows, or its partial sums before the all-reduce.
    /// One sequence has the adapter, the other none.
    @Test(arguments: [2, 4])
    func adapterPartsComputeTheWholeAdaptersLogits(ranks: Int) throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("phi3/hf").path
        let whole = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact)
        let adapter = try LoRAAdapter(path: TestPaths.tinyModels.appendingPathComponent("phi3/lora").path, model: whole.config, maxRank: 8)
        let expected = Self.run(whole, rank: 0, lora: adapter)
        #expect(expected != Self.run(whole, rank: 0), "the adapter should move the logits")
        let group = ThreadGroup(size: ranks)
        let parts = try (0..<ranks).map { r in
            try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                             tensorParallel: ThreadRank(rank: r, group: group))
        }
        let adapters = (0..<ranks).map { adapter.part(TensorParallelShard(rank: $0, size: ranks), of: whole.config) }
        let results = Self.runRanks(parts, loras: adapters)
        let worst = zip(results[0], expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(results[0].count == expected.count && worst <= 1e-4, "over \(ranks) ranks: logits differ by \(worst)")
    }

    @Test func headsThatDoNotDivideAreRefusedInVLLMsWords() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("llama/hf").path
        let group = ThreadGroup(size: 3)
        #expect(throws: ModelLoadError.unsupported(path: dir, reason: "Total number of attention heads (4) must be divisible by tensor parallel size (3).")) {
            _ = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), tensorParallel: ThreadRank(rank: 0, group: group))
        }
    }

    /// `run` on each rank's part, each on a thread of its own (they meet in the collectives).
    static func runRanks(_ parts: [DecoderModel], loras: [LoRAAdapter?]? = nil) -> [[Float]] {
        let box = Results(count: parts.count)
        let done = DispatchGroup()
        for r in parts.indices {
            done.enter()
            Thread.detachNewThread {
                box.set(r, run(parts[r], rank: r, lora: loras?[r] ?? nil))
                done.leave()
            }
        }
        done.wait()
        return box.values
    }

    /// Two sequences' prefills, then a decode step of each; every logits row of both steps.
    /// `lora`: the first sequence's adapter.
    static func run(_ model: DecoderModel, rank: Int, lora: LoRAAdapter? = nil) -> [Float] {
        let kv = PagedKVCache(config: model.config, numBlocks: 16, blockSize: 4, dtype: .float32)
        let a = [1, 17, 33, 250, 9, 12, 80, 7, 300, 41], b = [5, 6, 7, 8, 9, 10, 200]
        let prefill = [SequenceInput(tokens: a, firstPosition: 0, blockTable: [0, 1, 2], needsAllLogits: true, lora: lora),
                       SequenceInput(tokens: b, firstPosition: 0, blockTable: [3, 4, 5])]
        let decode = [SequenceInput(tokens: [42], firstPosition: a.count, blockTable: [0, 1, 2], lora: lora),
                      SequenceInput(tokens: [43], firstPosition: b.count, blockTable: [3, 4, 5])]
        var out: [Float] = []
        for step in [prefill, decode] {
            let logits = model.forward(step, kv: kv)
            for r in 0..<logits.count { out += logits[r] }
        }
        return out
    }
}

final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [[Float]]
    init(count: Int) { stored = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [Float]) { lock.withLock { stored[i] = v } }
    var values: [[Float]] { lock.withLock { stored } }
}

/// Ranks on threads of one process: each collective publishes the ranks' buffers, waits for all,
/// and reads them in rank order.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    var published: [UnsafeRawPointer?]

    init(size: Int) {
        self.size = size
        published = Array(repeating: nil, count: size)
    }

    func barrier() {
        condition.lock()
        defer { condition.unlock() }
        let g = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while g == generation { condition.wait() }
        }
    }
}

final class ThreadRank: TensorParallelCommunicator, @unchecked Sendable {
    let rank: Int
    let group: ThreadGroup
    var size: Int { group.size }

    init(rank: Int, group: ThreadGroup) {
        self.rank = rank
        self.group = group
    }

    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        group.published[rank] = UnsafeRawPointer(buffer)
        group.barrier()
        var sum = [Float](UnsafeBufferPointer(start: group.published[0]!.assumingMemoryBound(to: Float.self), count: count))
        for r in 1..<size {
            let part = group.published[r]!.assumingMemoryBound(to: Float.self)
            for i in 0..<count { sum[i] += part[i] }
        }
        group.barrier()
        buffer.update(from: sum, count: count)
    }

    func gather(_ local: UnsafeRawPointer, bytes: [Int], into out: UnsafeMutableRawPointer?) {
        group.published[rank] = local
        group.barrier()
        if rank == 0, let out {
            var offset = 0
            for r in 0..<size {
                (out + offset).copyMemory(from: group.published[r]!, byteCount: bytes[r])
                offset += bytes[r]
            }
        }
        group.barrier()
    }
}
