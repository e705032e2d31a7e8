import Foundation
import Testing
import VLLMCompute
import VLLMTestSupport
@testable import VLLMModels

/// Pipeline stages: the layer split (vLLM's `get_pp_indices`, or `VLLM_PP_LAYER_PARTITION`), the
/// KV cache layout a stage keeps, and every dense architecture's tiny checkpoint run as 2 and 3
/// stages on threads of this process (and as 2 stages of 2 tensor-parallel ranks each), which
/// must compute the whole model's logits: each stage runs the same layers on the residual
/// stream it is passed, so with fp32 activations the logits are the same bits.
@Suite struct PipelineParallelTests {
    static func sizes(_ total: Int, _ stages: Int, partition: [Int]? = nil) throws -> [Int] {
        try (0..<stages).map { try PipelineStage(index: $0, count: stages, partition: partition).layers(of: total).count }
    }

    @Test func layersSplitAsVLLMSplitsThem() throws {
        // get_pp_indices: an even share, the rest one each to the stages before the last.
        #expect(try Self.sizes(24, 2) == [12, 12])
        #expect(try Self.sizes(25, 2) == [13, 12])
        #expect(try Self.sizes(7, 3) == [2, 3, 2])
        #expect(try Self.sizes(30, 4) == [7, 8, 8, 7])
        #expect(try Self.sizes(11, 4) == [3, 3, 3, 2])
        #expect(try Self.sizes(5, 5) == [1, 1, 1, 1, 1])
    }

    @Test func stagesCoverEveryLayerOnceInOrder() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let stages = Int.random(in: 1...8, using: &rng), total = Int.random(in: stages...80, using: &rng)
            let ranges = try (0..<stages).map { try PipelineStage(index: $0, count: stages).layers(of: total) }
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == total)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
            #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1)
        }
    }

    @Test func aPartitionGivesEachStageItsCountOrIsRefused() throws {
        #expect(try Self.sizes(24, 2, partition: [14, 10]) == [14, 10])
        #expect(try PipelineStage.partition(from: ["VLLM_PP_LAYER_PARTITION": "14, 10"]) == [14, 10])
        #expect(try PipelineStage.partition(from: [:]) == nil)
        #expect(throws: ModelLoadError.self) { try PipelineStage.partition(from: ["VLLM_PP_LAYER_PARTITION": "14;10"]) }
        for bad in [[12, 11], [24, 0], [8, 8, 8]] {
            #expect(throws: ModelLoadError.self) { try Self.sizes(24, 2, partition: bad) }
        }
    }

    @Test func aStageKeepsItsLayersOfEachGroup() {
        // Gemma-style: layers 1, 3, 5 full attention, the rest sliding-window.
        let layout = KVCacheLayout(groups: [[1, 3, 5], [0, 2, 4], [6, 7]], windows: [nil, 8, 8])
        let stage = layout.restricted(to: 4..<8)
        #expect(stage.groups == [[5], [4], [6, 7]] && stage.windows == layout.windows)
        #expect(stage.slotsPerBlock == 2)
        #expect(stage.group(of: 5) == 0 && stage.slot(of: 5) == 0)
        #expect(stage.group(of: 7) == 2 && stage.slot(of: 7) == 1)
    }

    /// Over 2 stages, and over one stage per layer.
    @Test(arguments: TensorParallelShardTests.architectures)
    func stagesComputeTheWholeModelsLogits(arch: String) throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("\(arch)/hf").path
        let whole = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact)
        let expected = TensorParallelShardTests.run(whole, rank: 0)
        for stages in Set([2, whole.config.layerCount]).sorted() {
            let pipe = ThreadPipe(stages: stages)
            let parts = try (0..<stages).map { s in
                try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                                 pipeline: ThreadStage(index: s, pipe: pipe, tensorRank: 0))
            }
            #expect(parts.map(\.weights.layers.count).reduce(0, +) == whole.config.layerCount)
            let results = TensorParallelShardTests.runRanks(parts)
            #expect(results.allSatisfy { $0.isEmpty }, "logits leave the last stage through the pipeline")
            #expect(pipe.logits == expected, "\(arch) over \(stages) stages")
        }
    }

    @Test func moreStagesThanLayersAreRefused() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("mistral/hf").path
        let layers = try ModelConfig(hfConfigPath: dir + "/config.json").layerCount
        #expect(throws: ModelLoadError.unsupported(path: dir, reason: "pipeline parallel size (\(layers + 1)) exceeds the model's \(layers) layers")) {
            _ = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1),
                                 pipeline: ThreadStage(index: 0, pipe: ThreadPipe(stages: layers + 1), tensorRank: 0))
        }
    }

    /// Two stages of two tensor-parallel ranks (ranks 0, 1 the first stage; 2, 3 the second).
    @Test func tensorParallelStagesComputeTheWholeModelsLogits() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("qwen2/hf").path
        let whole = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact)
        let expected = TensorParallelShardTests.run(whole, rank: 0)
        let pipe = ThreadPipe(stages: 2)
        let groups = [ThreadGroup(size: 2), ThreadGroup(size: 2)]
        let parts = try (0..<4).map { r in
            try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                             tensorParallel: ThreadRank(rank: r % 2, group: groups[r / 2]),
                             pipeline: ThreadStage(index: r / 2, pipe: pipe, tensorRank: r % 2))
        }
        _ = TensorParallelShardTests.runRanks(parts)
        let worst = zip(pipe.logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(pipe.logits.count == expected.count && worst <= 1e-4, "logits differ by \(worst)")
    }
}

/// The links between pipeline stages on threads: a queue of residual streams per stage boundary
/// and tensor-parallel position, and the logits the last stage sends.
final class ThreadPipe: @unchecked Sendable {
    let stages: Int
    private let condition = NSCondition()
    private var queues: [[Int]: [[Float]]] = [:]
    private var sentLogits: [Float] = []

    init(stages: Int) { self.stages = stages }

    func push(_ key: [Int], _ values: [Float]) {
        condition.withLock {
            queues[key, default: []].append(values)
            condition.broadcast()
        }
    }

    func pop(_ key: [Int]) -> [Float] {
        condition.withLock {
            while queues[key, default: []].isEmpty { condition.wait() }
            return queues[key]!.removeFirst()
        }
    }

    func addLogits(_ values: [Float]) { condition.withLock { sentLogits += values } }
    var logits: [Float] { condition.withLock { sentLogits } }
}

final class ThreadStage: PipelineCommunicator, @unchecked Sendable {
    let stage: PipelineStage
    let pipe: ThreadPipe
    let tensorRank: Int

    init(index: Int, pipe: ThreadPipe, tensorRank: Int) {
        stage = PipelineStage(index: index, count: pipe.stages)
        self.pipe = pipe
        self.tensorRank = tensorRank
    }

    func sendToNextStage(_ buffer: UnsafePointer<Float>, count: Int) {
        pipe.push([stage.index, tensorRank], Array(UnsafeBufferPointer(start: buffer, count: count)))
    }

    func receiveFromPreviousStage(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let values = pipe.pop([stage.index - 1, tensorRank])
        precondition(values.count == count, "stage \(stage.index) expected \(count) values, got \(values.count)")
        buffer.update(from: values, count: count)
    }

    func sendLogits(_ buffer: UnsafePointer<Float>, count: Int) {
        pipe.addLogits(Array(UnsafeBufferPointer(start: buffer, count: count)))
    }
}
