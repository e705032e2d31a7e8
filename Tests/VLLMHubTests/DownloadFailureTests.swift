import Foundation
import Testing
@testable import VLLMHub

/// Every refusal is one clear line, and a refused or hostile answer writes nothing.
@Suite struct DownloadFailureTests {
    /// The error `locate` throws for `model` against a fake hub holding `repos`.
    static func failure(_ model: String, revision: String? = nil, repos: [FakeRepo], _ environment: [String: String] = [:],
                        check: (HubError, FakeHub, String) throws -> Void = { _, _, _ in }) async throws -> HubError? {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with(repos) { hub in
                let error = await #expect(throws: HubError.self) {
                    try await makeLocator(cache: cache, endpoint: hub.endpoint, environment).locate(model, revision: revision)
                }
                if let error {
                    #expect(!error.description.contains("\n"))
                    try check(error, hub, cache)
                }
                return error
            }
        }
    }

    @Test func missingRepo() async throws {
        let error = try await Self.failure("org/missing", repos: [Fixtures.tiny()]) { error, hub, _ in
            #expect(error.description.hasPrefix("repository org/missing not found on \(hub.endpoint)"))
        }
        guard case .repoNotFound = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func missingRevision() async throws {
        let error = try await Self.failure("org/tiny", revision: "nope", repos: [Fixtures.tiny()])
        guard case .revisionNotFound(_, "nope", _) = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func privateRepoWithoutOrWithAWrongToken() async throws {
        let repo = Fixtures.simple(id: "org/private", token: "hf_secret")
        let withoutToken = try await Self.failure("org/private", repos: [repo])
        #expect(withoutToken?.description.contains("needs a token: set HF_TOKEN") == true)
        guard case .unauthorized(_, _, hadToken: false) = withoutToken else { Issue.record("got \(String(describing: withoutToken))"); return }
        let wrongToken = try await Self.failure("org/private", repos: [repo], ["HF_TOKEN": "hf_wrong"])
        guard case .unauthorized(_, _, hadToken: true) = wrongToken else { Issue.record("got \(String(describing: wrongToken))"); return }
    }

    @Test func gatedRepo() async throws {
        let error = try await Self.failure("org/gated", repos: [Fixtures.simple(id: "org/gated", gated: true)]) { error, hub, _ in
            #expect(error.description.contains("accept its terms at \(hub.endpoint)/org/gated"))
        }
        guard case .gated = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func ggufOnlyRepoListsItsFiles() async throws {
        let repo = FakeRepo(id: "org/gguf", commits: [Fixtures.commitA: [
            FakeFile("README.md", "# q"), FakeFile("m-Q8_0.gguf", bytes: [1]), FakeFile("m-Q4_K_M.gguf", bytes: [2]),
        ]], refs: ["main": Fixtures.commitA])
        let error = try await Self.failure("org/gguf", repos: [repo]) { error, _, cache in
            #expect(error.description.contains("pass the path of that .gguf file"))
            #expect(!exists(cache + "/models--org--gguf"))
        }
        #expect(error == .ggufOnly(repo: "org/gguf", files: ["m-Q4_K_M.gguf", "m-Q8_0.gguf"]))
    }

    @Test func repoWithoutSafetensors() async throws {
        let repo = FakeRepo(id: "org/bin", commits: [Fixtures.commitA: [
            Fixtures.config, FakeFile("pytorch_model.bin", bytes: [1, 2, 3]),
        ]], refs: ["main": Fixtures.commitA])
        let error = try await Self.failure("org/bin", repos: [repo])
        #expect(error == .noWeights(repo: "org/bin", files: ["pytorch_model.bin"]))
    }

    @Test func offlineWithoutAndWithTheCache() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let offline = makeLocator(cache: cache, endpoint: hub.endpoint, ["HF_HUB_OFFLINE": "1"])
                let error = #expect(throws: HubError.self) { try offline.locate("org/tiny") }
                #expect(error == .notCached(repo: "org/tiny", revision: "main", cache: cache, offline: true))
                #expect(error?.description == "org/tiny (revision main) is not in the cache at \(cache) and HF_HUB_OFFLINE is set")
                let noDownload = #expect(throws: HubError.self) {
                    try makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/tiny", allowDownload: false)
                }
                #expect(noDownload == .notCached(repo: "org/tiny", revision: "main", cache: cache, offline: false))
                #expect(hub.requests.isEmpty)

                let online = try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/tiny")
                let seen = hub.requests.count
                #expect(try await offline.locate("org/tiny") == online)
                #expect(hub.requests.count == seen)
            }
        }
    }

    @Test func unreachableHub() async throws {
        try await withTemporaryDirectory { cache in
            let error = await #expect(throws: HubError.self) {
                try await makeLocator(cache: cache, endpoint: unreachableEndpoint).locate("org/tiny")
            }
            guard case .network(let endpoint, _) = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(endpoint == unreachableEndpoint)
            #expect(error!.description == "cannot reach \(unreachableEndpoint): Connection refused (set HF_HUB_OFFLINE=1 to use only the cache)")
        }
    }

    /// Listings naming paths outside the snapshot, or a commit that is not a hash.
    @Test(arguments: [
        #"{"sha": "SHA", "siblings": [{"rfilename": "config.json"}, {"rfilename": "../../evil.safetensors"}]}"#,
        #"{"sha": "SHA", "siblings": [{"rfilename": "config.json"}, {"rfilename": "/tmp/evil.safetensors"}]}"#,
        #"{"sha": "SHA", "siblings": [{"rfilename": "config.json"}, {"rfilename": "a/../../evil.safetensors"}]}"#,
        #"{"sha": "SHA", "siblings": [{"rfilename": "config.json"}, {"rfilename": "evil\u0001.safetensors"}]}"#,
        #"{"sha": "SHA", "siblings": [{"rfilename": "config.json"}, {"rfilename": "..\\evil.safetensors"}]}"#,
        #"{"sha": "../../../../evil", "siblings": [{"rfilename": "config.json"}]}"#,
        #"{"sha": "SHA", "siblings": "config.json"}"#,
    ])
    func hostileListingsAreRefused(listing: String) async throws {
        var repo = Fixtures.tiny(id: "org/hostile")
        repo.rawListing = listing.replacingOccurrences(of: "SHA", with: Fixtures.commitA)
        let error = try await Self.failure("org/hostile", repos: [repo]) { _, _, cache in
            #expect(!exists(cache + "/models--org--hostile"))
            #expect(!exists(cache + "/evil.safetensors") && !exists((cache as NSString).deletingLastPathComponent + "/evil.safetensors"))
        }
        guard case .untrustedResponse = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func aHostileETagIsRefused() async throws {
        var repo = Fixtures.tiny(id: "org/hostile")
        repo.etagOverride["config.json"] = "../../../escape"
        let error = try await Self.failure("org/hostile", repos: [repo]) { _, _, cache in
            #expect(!exists(cache + "/models--org--hostile/blobs"))
            #expect(!exists(cache + "/escape"))
        }
        guard case .untrustedResponse = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func aHostileWeightIndexIsRefused() async throws {
        let index = FakeFile("model.safetensors.index.json", #"{"weight_map": {"a": "../../../outside.safetensors"}}"#)
        let repo = FakeRepo(id: "org/hostile", commits: [Fixtures.commitA: [Fixtures.config, index, Fixtures.single]],
                            refs: ["main": Fixtures.commitA])
        let error = try await Self.failure("org/hostile", repos: [repo]) { _, hub, _ in
            #expect(!hub.requests.contains { $0.path.contains("outside") })
        }
        guard case .untrustedResponse = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func aHugeListingIsRefused() async throws {
        try await withTemporaryDirectory { cache in
            let files = [Fixtures.config, Fixtures.single] + (0..<100).map { FakeFile("extra-\($0).txt", "x") }
            let repo = FakeRepo(id: "org/big", commits: [Fixtures.commitA: files], refs: ["main": Fixtures.commitA])
            try await FakeHub.with([repo]) { hub in
                var downloader = HubDownloader(settings: HubSettings(cacheRoot: cache, endpoint: hub.endpoint))
                downloader.maxListingBytes = 1024
                let error = await #expect(throws: HubError.self) { try await downloader.download(try RepoID("org/big")) }
                guard case .untrustedResponse(_, let detail) = error else { Issue.record("got \(String(describing: error))"); return }
                #expect(detail.contains("larger than 1024 bytes"))
            }
        }
    }

    @Test func contentThatDoesNotMatchItsSha256IsRefused() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                hub.corrupt("model.safetensors")
                let error = await #expect(throws: HubError.self) {
                    try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/simple")
                }
                guard case .integrity(_, "model.safetensors", let detail) = error else { Issue.record("got \(String(describing: error))"); return }
                #expect(detail.contains(Fixtures.single.etag))
                let repoFolder = cache + "/models--org--simple"
                #expect(names(in: repoFolder + "/blobs") == [Fixtures.configB.etag])  // no blob, no .incomplete
                #expect(!exists(repoFolder + "/snapshots/" + Fixtures.commitB + "/model.safetensors"))
                #expect(!exists(repoFolder + "/refs/main"))
            }
        }
    }
}
