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
