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

    @Test func repoIDResolvesThroughRefsAndLoads() throws {
        let root = try Self.makeCache(repo: "org/tiny", from: TestPaths.tinyModels.appendingPathComponent("qwen3/hf"), commit: Self.commit)
        defer { try? FileManager.default.removeItem(at: root) }
        let env = ["HF_HUB_CACHE": root.path]
        let path = try HubCache.locate("org/tiny", environment: env)
        #expect(path.hasSuffix("models--org--tiny/snapshots/\(Self.commit)"))
        #expect(try HubCache.locate("org/tiny", revision: Self.commit, environment: env) == path)
        // The weights and tokenizer are read through the snapshot's links into blobs/.
        let model = try DecoderModel(directory: path, pool: ThreadPool(threadCount: 1), maxBatchTokens: 8)
        #expect(model.config.architecture == "Qwen3ForCausalLM")
        let tokenizer = try Tokenizer(directory: path)
        #expect(tokenizer.decode(tokenizer.encode("quick brown fox", addSpecialTokens: false)) == "quick brown fox")
        #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
    }

    @Test func missingRepoRevisionAndBadIDsAreNamed() throws {
        let root = try Self.makeCache(repo: "org/tiny", from: TestPaths.tinyModels.appendingPathComponent("qwen3/hf"), commit: Self.commit, ref: "v2")
        defer { try? FileManager.default.removeItem(at: root) }
        let env = ["HF_HUB_CACHE": root.path]
        #expect(throws: ModelNotFound.self) { try HubCache.locate("org/tiny", environment: env) }  // no refs/main
        #expect(try HubCache.locate("org/tiny", revision: "v2", environment: env).hasSuffix(Self.commit))
        do { _ = try HubCache.locate("org/other", environment: env); Issue.record("found") } catch {
            #expect("\(error)".contains("org/other") && "\(error)".contains(root.path))
        }
        for bad in ["../etc", "a/b/c", "org/..", "-x/y", "org/", "org/na me"] { #expect(!HubCache.isRepoID(bad), "\(bad)") }
        for good in ["Qwen/Qwen2.5-0.5B-Instruct", "meta-llama/Llama-3.2-1B", "org_1/m.v2"] { #expect(HubCache.isRepoID(good), "\(good)") }
    }

    @Test func cacheRootFollowsHuggingFaceHubPrecedence() {
        #expect(HubCache(environment: ["HF_HUB_CACHE": "/a", "HF_HOME": "/b"]).root == "/a")
        #expect(HubCache(environment: ["HF_HOME": "/b", "XDG_CACHE_HOME": "/c"]).root == "/b/hub")
        #expect(HubCache(environment: ["XDG_CACHE_HOME": "/c"]).root == "/c/huggingface/hub")
        #expect(HubCache(environment: [:]).root.hasSuffix("/.cache/huggingface/hub"))
    }
}
