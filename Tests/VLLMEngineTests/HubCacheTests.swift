import Foundation
import Testing
import VLLM
import VLLMTestSupport

/// Models in the Hugging Face hub cache, laid out as huggingface_hub writes them.
@Suite struct HubCacheTests {
    /// A cache holding `repo` at `commit` (files linked from the snapshot into blobs/, a ref).
    static func makeCache(repo: String, from source: URL, commit: String, ref: String = "main") throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString)")
        let dir = root.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
        let fm = FileManager.default
        for sub in ["blobs", "snapshots/\(commit)", "refs"] {
            try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for (i, name) in try fm.contentsOfDirectory(atPath: source.path).sorted().enumerated() {
            let blob = String(format: "%064x", i + 1)
            try fm.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent("blobs/\(blob)"))
            try fm.createSymbolicLink(atPath: dir.appendingPathComponent("snapshots/\(commit)/\(name)").path,
                                      withDestinationPath: "../../blobs/\(blob)")
        }
        try Data(commit.utf8).write(to: dir.appendingPathComponent("refs/\(ref)"))
        return root
    }

    static let commit = String(repeating: "ab", count: 20)

    /// A repo in the cache (found offline through refs/main) loads: weights and tokenizer read
    /// through the snapshot's links into blobs/.
    @Test func aCachedRepoLoadsThroughItsSnapshotLinks() throws {
        let root = try Self.makeCache(repo: "org/tiny", from: TestPaths.tinyModels.appendingPathComponent("qwen3/hf"), commit: Self.commit)
        defer { try? FileManager.default.removeItem(at: root) }
        let locator = ModelLocator(settings: HubSettings(cacheRoot: root.path, offline: true))
        let path = try locator.locate("org/tiny").path
        #expect(path.hasSuffix("models--org--tiny/snapshots/\(Self.commit)"))
        let model = try DecoderModel(directory: path, pool: ThreadPool(threadCount: 1), maxBatchTokens: 8)
        #expect(model.config.architecture == "Qwen3ForCausalLM")
        let tokenizer = try Tokenizer(directory: path)
        #expect(tokenizer.decode(tokenizer.encode("quick brown fox", addSpecialTokens: false)) == "quick brown fox")
        #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
        #expect(throws: HubError.self) { try locator.locate("org/other") }
    }
}
