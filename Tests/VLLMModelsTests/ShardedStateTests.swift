import Foundation
import Testing
import VLLMCompute
import VLLMTestSupport
@testable import VLLMModels

/// `ShardedState`: each rank's file holds exactly the part `keepPart` takes from the whole
/// model, so ranks loaded from their files compute the same logits bit for bit (fused QKV and
/// gate/up in phi3, replicated KV heads over 4 ranks, Gemma's norms and embedding scale).
@Suite struct ShardedStateTests {
    @Test(arguments: ["llama", "mistral", "phi3", "gemma3"], [2, 4])
    func ranksLoadedFromTheirFilesComputeWhatTheWholeFilesPartsDo(arch: String, ranks: Int) throws {
        let path = TestPaths.tinyModels.appendingPathComponent("\(arch)/\(arch).gguf").path
        let whole = try GGUFFile(path: path)
        try withTemporaryDirectory { dir in
            try ShardedState.save(whole, size: ranks, to: dir)
            let fromWhole = try Self.parts(ranks) { r, rank in
                try DecoderModel(gguf: whole, pool: ThreadPool(threadCount: 1), activationPrecision: .exact, tensorParallel: rank)
            }
            let fromFiles = try Self.parts(ranks) { r, rank in
                let file = try ShardedState.open(directory: dir, rank: r, size: ranks)
                #expect(file.byteCount < whole.byteCount)
                return try DecoderModel(gguf: file, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                                        tensorParallel: rank, holdsOnlyShard: true)
            }
            let expected = TensorParallelShardTests.runRanks(fromWhole)
            #expect(!expected[0].isEmpty)
            #expect(TensorParallelShardTests.runRanks(fromFiles) == expected, "\(arch) over \(ranks) ranks")
        }
    }

    @Test func aDirectoryForAnotherSizeOrNoneIsRefused() throws {
        let path = TestPaths.tinyModels.appendingPathComponent("llama/llama.gguf").path
        try withTemporaryDirectory { dir in
            try ShardedState.save(try GGUFFile(path: path), size: 2, to: dir)
            let file = dir + "/model-rank-0-part-0.gguf"
            #expect(throws: ModelLoadError.unsupported(path: file, reason: "saved for tensor parallel size 2; load it with --tensor-parallel-size 2 or save it again for 4")) {
                _ = try ShardedState.open(directory: dir, rank: 0, size: 4)
            }
            #expect(throws: ModelLoadError.cannotOpen(path: dir + "/model-rank-2-part-0.gguf", reason: "no such file: --load-format sharded_state takes a directory written by `vllm save-sharded-state` with --tensor-parallel-size 4")) {
                _ = try ShardedState.open(directory: dir, rank: 2, size: 4)
            }
            // A plain model file in a rank's place.
            try FileManager.default.removeItem(atPath: dir + "/model-rank-1-part-0.gguf")
            try FileManager.default.copyItem(atPath: path, toPath: dir + "/model-rank-1-part-0.gguf")
            #expect(throws: ModelLoadError.self) { _ = try ShardedState.open(directory: dir, rank: 1, size: 2) }
        }
    }

    /// Two pipeline stages of two tensor-parallel ranks: each file holds only its stage's layers,
    /// and the ranks loaded from their files compute the whole model's logits as the same ranks
    /// loaded from the whole file do. A file is refused for another stage count or split.
    @Test func stagesOfRanksLoadedFromTheirFilesComputeWhatTheWholeFilesStagesDo() throws {
        let path = TestPaths.tinyModels.appendingPathComponent("llama/llama.gguf").path
        let whole = try GGUFFile(path: path)
        let layers = try ModelConfig(gguf: whole).layerCount
        try withTemporaryDirectory { dir in
            try ShardedState.save(whole, size: 2, stages: 2, to: dir)
            func logits(_ file: (Int) throws -> (GGUFFile, onlyShard: Bool)) throws -> [Float] {
                let pipe = ThreadPipe(stages: 2)
                let groups = [ThreadGroup(size: 2), ThreadGroup(size: 2)]
                let parts = try (0..<4).map { r in
                    let (f, only) = try file(r)
                    return try DecoderModel(gguf: f, pool: ThreadPool(threadCount: 1), activationPrecision: .exact,
                                            tensorParallel: ThreadRank(rank: r % 2, group: groups[r / 2]), holdsOnlyShard: only,
                                            pipeline: ThreadStage(index: r / 2, pipe: pipe, tensorRank: r % 2))
                }
                _ = TensorParallelShardTests.runRanks(parts)
                return pipe.logits
            }
            let expected = try logits { _ in (whole, false) }
            let fromFiles = try logits { r in
                let stage = PipelineStage(index: r / 2, count: 2)
                let file = try ShardedState.open(directory: dir, rank: r, size: 2, stage: stage)
                #expect(Set(file.tensors.compactMap { ShardedState.layer(of: $0.name) }) == Set(try stage.layers(of: layers)))
                return (file, true)
            }
            #expect(!expected.isEmpty && fromFiles == expected)

            let file = dir + "/model-rank-0-part-0.gguf"
            #expect(throws: ModelLoadError.unsupported(path: file, reason: "saved for pipeline parallel size 2; load it with --pipeline-parallel-size 2 or save it again for 1")) {
                _ = try ShardedState.open(directory: dir, rank: 0, size: 2)
            }
            #expect(throws: ModelLoadError.unsupported(path: file, reason: "holds layers 0..<2, but pipeline stage 0 runs layers 0..<1; save it again with the VLLM_PP_LAYER_PARTITION it is served with")) {
                _ = try ShardedState.open(directory: dir, rank: 0, size: 2, stage: PipelineStage(index: 0, count: 2, partition: [1, 2]))
            }
        }
    }

    static func parts(_ ranks: Int, _ load: (Int, ThreadRank) throws -> DecoderModel) throws -> [DecoderModel] {
        let group = ThreadGroup(size: ranks)
        return try (0..<ranks).map { try load($0, ThreadRank(rank: $0, group: group)) }
    }
}

/// A fresh directory for `body`, removed afterwards.
func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sharded-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try body(dir)
}
