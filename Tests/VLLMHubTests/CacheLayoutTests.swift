import Foundation
import Testing
@testable import VLLMHub

/// Caches laid out by hand the way Python's huggingface_hub writes them resolve without the
/// network; incomplete ones do not.
@Suite struct CacheLayoutTests {
    /// blobs/<hash>, snapshots/<commit>/<file> → ../../blobs/<hash>, refs/main without newline.
    static func pythonCache(_ root: String, repo: String = "models--org--py", files: [FakeFile], refs: [String: String] = ["main": Fixtures.commitA]) throws {
        let repoFolder = root + "/" + repo
        try FileManager.default.createDirectory(atPath: repoFolder + "/blobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repoFolder + "/snapshots/" + Fixtures.commitA, withIntermediateDirectories: true)
        for file in files {
            try Data(file.content).write(to: URL(fileURLWithPath: repoFolder + "/blobs/" + file.etag))
            try FileManager.default.createSymbolicLink(
                atPath: repoFolder + "/snapshots/" + Fixtures.commitA + "/" + file.path, withDestinationPath: "../../blobs/" + file.etag)
        }
        for (name, commit) in refs { try write(commit, to: repoFolder + "/refs/" + name) }
    }

    @Test func pythonMadeCacheResolvesOffline() async throws {
        try await withTemporaryDirectory { cache in
            try Self.pythonCache(cache, files: [Fixtures.config, Fixtures.single])
            let snapshot = cache + "/models--org--py/snapshots/" + Fixtures.commitA
            // The endpoint is unreachable: any request would fail the lookup.
            #expect(try await makeLocator(cache: cache, endpoint: unreachableEndpoint).locate("org/py") == .directory(snapshot))
            #expect(try await makeLocator(cache: cache, endpoint: unreachableEndpoint, ["HF_HUB_OFFLINE": "1"]).locate("org/py") == .directory(snapshot))
            #expect(try await makeLocator(cache: cache, endpoint: unreachableEndpoint).locate("org/py", revision: Fixtures.commitA) == .directory(snapshot))
        }
    }

    @Test func refsWithATrailingNewlineAndOtherBranches() async throws {
        try await withTemporaryDirectory { cache in
            try Self.pythonCache(cache, files: [Fixtures.config, Fixtures.single], refs: ["release": Fixtures.commitA + "\n"])
            let locator = makeLocator(cache: cache, endpoint: unreachableEndpoint, ["HF_HUB_OFFLINE": "1"])
            #expect(try await locator.locate("org/py", revision: "release").path.hasSuffix(Fixtures.commitA))
            let error = #expect(throws: HubError.self) { try locator.locate("org/py") }
            #expect(error == .notCached(repo: "org/py", revision: "main", cache: cache, offline: true))
        }
    }

    @Test func shardedSnapshotNeedsEveryIndexedShard() async throws {
        try await withTemporaryDirectory { cache in
            try Self.pythonCache(cache, files: [Fixtures.config, Fixtures.index, Fixtures.shard1])
            let locator = makeLocator(cache: cache, endpoint: unreachableEndpoint, ["HF_HUB_OFFLINE": "1"])
            #expect(throws: HubError.self) { try locator.locate("org/py") }
            try Self.pythonCache(cache, repo: "models--org--py2", files: [Fixtures.config, Fixtures.index, Fixtures.shard1, Fixtures.shard2])
            #expect(try await locator.locate("org/py2").path.hasSuffix(Fixtures.commitA))
        }
    }

    @Test func snapshotWithoutWeightsOrWithADanglingLinkIsNotUsable() async throws {
        try await withTemporaryDirectory { cache in
            try Self.pythonCache(cache, files: [Fixtures.config])
            let locator = makeLocator(cache: cache, endpoint: unreachableEndpoint, ["HF_HUB_OFFLINE": "1"])
            #expect(throws: HubError.self) { try locator.locate("org/py") }
            try FileManager.default.createSymbolicLink(
                atPath: cache + "/models--org--py/snapshots/" + Fixtures.commitA + "/model.safetensors", withDestinationPath: "../../blobs/gone")
            #expect(throws: HubError.self) { try locator.locate("org/py") }
        }
    }

    @Test func nestedFilesLinkWithOneMoreLevelPerFolder() async throws {
        try await withTemporaryDirectory { cache in
            let hub = HubCache(root: cache)
            let repo = try RepoID("org/nested")
            try write("x", to: hub.blobPath(repo, etag: "abc"))
            try hub.link(repo, commit: Fixtures.commitA, file: "a/b/c.json", etag: "abc")
            let link = hub.snapshotFolder(repo, commit: Fixtures.commitA) + "/a/b/c.json"
            #expect(linkTarget(link) == "../../../../blobs/abc")
            #expect(fileBytes(link) == Array("x".utf8))
        }
    }
}
