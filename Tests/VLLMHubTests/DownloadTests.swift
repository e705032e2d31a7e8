import Foundation
import Testing
@testable import VLLMHub

/// Downloads from the fake hub into a temporary cache.
@Suite struct DownloadTests {
    @Test func downloadsOnlyWhatAModelNeedsInTheHubLayout() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let source = try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/tiny")
                let repoFolder = cache + "/models--org--tiny"
                let snapshot = repoFolder + "/snapshots/" + Fixtures.commitA
                #expect(source == .directory(snapshot))
                #expect(fileBytes(repoFolder + "/refs/main") == Array(Fixtures.commitA.utf8))
                #expect(names(in: snapshot) == Set(Fixtures.wanted.map(\.path)))
                #expect(names(in: repoFolder + "/blobs") == Set(Fixtures.wanted.map(\.etag)))
                for file in Fixtures.wanted {
                    #expect(linkTarget(snapshot + "/" + file.path) == "../../blobs/" + file.etag)
                    #expect(fileBytes(snapshot + "/" + file.path) == file.content)
                }
                // Huge files were fetched from storage, without the token's header, and
                // nothing unwanted was asked for.
                let asked = Set(hub.requests.map { $0.path.split(separator: "/").last.map(String.init) ?? "" })
                for file in Fixtures.unwanted { #expect(!asked.contains(file.path.split(separator: "/").last.map(String.init)!)) }
                #expect(hub.requests.contains { $0.server == "storage" && $0.path.hasSuffix(Fixtures.shard1.path) })
            }
        }
    }

    @Test func aSecondLocateUsesTheCacheWithoutAnyRequest() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                let first = try await locator.locate("org/tiny")
                let seen = hub.requests.count
                #expect(seen > 0)
                #expect(try await locator.locate("org/tiny") == first)
                #expect(hub.requests.count == seen)
            }
        }
    }

    @Test func revisionByTagAndByCommitHash() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                let repoFolder = cache + "/models--org--tiny"
                let tagged = try await locator.locate("org/tiny", revision: "v1")
                #expect(tagged == .directory(repoFolder + "/snapshots/" + Fixtures.commitB))
                #expect(fileBytes(repoFolder + "/refs/v1") == Array(Fixtures.commitB.utf8))
                #expect(fileBytes(tagged.path + "/model.safetensors") == Fixtures.single.content)
                #expect(fileBytes(tagged.path + "/config.json") == Fixtures.configB.content)

                let byHash = try await locator.locate("org/tiny", revision: Fixtures.commitA)
                #expect(byHash == .directory(repoFolder + "/snapshots/" + Fixtures.commitA))
                #expect(names(in: repoFolder + "/refs") == ["v1"])  // a hash is not a ref

                let seen = hub.requests.count
                #expect(try await locator.locate("org/tiny", revision: Fixtures.commitA) == byHash)
                #expect(try await locator.locate("org/tiny", revision: "v1") == tagged)
                #expect(hub.requests.count == seen)
            }
        }
    }

    @Test func aCachedCommitIsLinkedToANewBranchWithoutDownloading() async throws {
        try await withTemporaryDirectory { cache in
            var repo = Fixtures.tiny()
            repo.refs["stable"] = Fixtures.commitB
            try await FakeHub.with([repo]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                let tagged = try await locator.locate("org/tiny", revision: "v1")
                let before = hub.requests.count
                #expect(try await locator.locate("org/tiny", revision: "stable") == tagged)
                #expect(hub.requests.count == before + 1)  // the listing only
                #expect(fileBytes(cache + "/models--org--tiny/refs/stable") == Array(Fixtures.commitB.utf8))
            }
        }
    }

    @Test func blockingLocateFromAPlainThread() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                let result: Result<ModelSource, HubError> = await withCheckedContinuation { done in
                    Thread.detachNewThread { done.resume(returning: Result { () throws(HubError) in try locator.locate("org/simple") }) }
                }
                let source = try result.get()
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
            }
        }
    }

    @Test func theTokenGoesToTheHubOnly() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/private", token: "hf_secret")]) { hub in
                let source = try await makeLocator(cache: cache, endpoint: hub.endpoint, ["HF_TOKEN": "hf_secret"]).locate("org/private")
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
                let hubRequests = hub.requests.filter { $0.server == "hub" }, storage = hub.requests.filter { $0.server == "storage" }
                #expect(!hubRequests.isEmpty && hubRequests.allSatisfy { $0.authorization == "Bearer hf_secret" })
                #expect(!storage.isEmpty && storage.allSatisfy { $0.authorization == nil })
            }
        }
    }

    @Test func theTokenFileIsUsed() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/private", token: "hf_secret")]) { hub in
                try write("hf_secret\n", to: cache + "/hf/token")
                let source = try await makeLocator(cache: cache, endpoint: hub.endpoint, ["HF_HOME": cache + "/hf"]).locate("org/private")
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
            }
        }
    }
}
