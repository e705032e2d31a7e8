import Foundation
import Testing
@testable import VLLMHub

/// What counts as a local path, a repo id or neither, and the errors for the last.
@Suite struct ModelArgumentTests {
    @Test(arguments: ["gpt2", "Qwen/Qwen2.5-0.5B-Instruct", "a_b/c.d-e", "org/" + String(repeating: "n", count: 96)])
    func validRepoIDs(id: String) throws {
        #expect(try RepoID(id).id == id)
    }

    @Test(arguments: ["", "a/b/c", "../x", "org/..", "org/na..me", "org--x/y", "-org/x", "org/x-", ".x", "org/x.git",
                      "org/na me", "org/ñame", "org/", "/org", "org/" + String(repeating: "n", count: 97)])
    func invalidRepoIDs(id: String) {
        #expect(throws: HubError.self) { try RepoID(id) }
    }

    @Test func cacheFolderNames() throws {
        #expect(try RepoID("Qwen/Qwen2.5-0.5B-Instruct").cacheFolderName == "models--Qwen--Qwen2.5-0.5B-Instruct")
        #expect(try RepoID("gpt2").cacheFolderName == "models--gpt2")
    }

    @Test func existingPathsAreUsedAsTheyAre() async throws {
        try await withTemporaryDirectory { dir in
            try write("{}", to: dir + "/model/config.json")
            try write("GGUF", to: dir + "/q4.gguf")
            let locator = makeLocator(cache: dir + "/cache", endpoint: unreachableEndpoint)
            #expect(try await locator.locate(dir + "/model") == .directory(dir + "/model"))
            #expect(try await locator.locate(dir + "/q4.gguf") == .file(dir + "/q4.gguf"))
            #expect(try await locator.locate(dir + "/q4.gguf", revision: "main") == .file(dir + "/q4.gguf"))
        }
    }

    @Test func aMissingPathIsNeitherPathNorRepo() async throws {
        try await withTemporaryDirectory { dir in
            let locator = makeLocator(cache: dir, endpoint: unreachableEndpoint)
            let error = #expect(throws: HubError.self) { try locator.locate(dir + "/no/such/model") }
            guard case .invalidModel = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(error!.description.contains("is not an existing file or directory, and not a Hugging Face repo id"))
        }
    }

    @Test(arguments: ["../main", "refs//x", "/abs", "a\nb", ""])
    func unsafeRevisionsAreRefused(revision: String) async throws {
        try await withTemporaryDirectory { dir in
            let locator = makeLocator(cache: dir, endpoint: unreachableEndpoint)
            let error = #expect(throws: HubError.self) { try locator.locate("org/x", revision: revision) }
            guard case .invalidRevision = error else { Issue.record("got \(String(describing: error))"); return }
        }
    }
}
