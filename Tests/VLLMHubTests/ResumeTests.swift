import Foundation
import Testing
@testable import VLLMHub

/// Interrupted downloads resume with a Range request; concurrent ones share the work.
@Suite struct ResumeTests {
    static let blobs = "/models--org--simple/blobs/"

    @Test func aPartialBlobIsResumedWithARange() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                let partial = cache + Self.blobs + Fixtures.single.etag + ".incomplete"
                try FileManager.default.createDirectory(atPath: cache + Self.blobs, withIntermediateDirectories: true)
                try Data(Fixtures.single.content.prefix(123_456)).write(to: URL(fileURLWithPath: partial))
                let source = try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/simple")
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
                let gets = hub.requests.filter { $0.server == "storage" && $0.method == "GET" }
                #expect(gets.map(\.range) == ["bytes=123456-"])
                #expect(!exists(partial))
            }
        }
    }

    @Test func aPartialBlobWithWrongBytesIsDroppedAndTheNextTryStartsAfresh() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                let partial = cache + Self.blobs + Fixtures.single.etag + ".incomplete"
                try FileManager.default.createDirectory(atPath: cache + Self.blobs, withIntermediateDirectories: true)
                try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: partial))
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                let error = await #expect(throws: HubError.self) { try await locator.locate("org/simple") }
                guard case .integrity = error else { Issue.record("got \(String(describing: error))"); return }
                #expect(!exists(partial))
                let source = try await locator.locate("org/simple")
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
            }
        }
    }

    @Test func aConnectionCutMidwayIsResumedInTheSameCall() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                hub.cutOnce("model.safetensors", after: 150_000)
                let source = try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/simple")
                #expect(fileBytes(source.path + "/model.safetensors") == Fixtures.single.content)
                let gets = hub.requests.filter { $0.server == "storage" && $0.method == "GET" }
                #expect(gets.count == 2)
                #expect(gets.first?.range == nil)
                // The second GET starts where the first stopped (what reached the client of the
                // 150,000 bytes sent).
                let start = gets.last?.range.flatMap { Int($0.dropFirst(6).dropLast()) }
                #expect(start.map { $0 > 0 && $0 <= 150_000 } == true)
            }
        }
    }

    @Test func twoConcurrentLocatesDownloadEachBlobOnce() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                async let first = locator.locate("org/tiny")
                async let second = locator.locate("org/tiny")
                let (a, b) = try await (first, second)
                #expect(a == b)
                for shard in [Fixtures.shard1, Fixtures.shard2] {
                    #expect(fileBytes(a.path + "/" + shard.path) == shard.content)
                    #expect(hub.requests.filter { $0.server == "storage" && $0.method == "GET" && $0.path.hasSuffix(shard.path) }.count == 1)
                }
                #expect(!names(in: cache + "/models--org--tiny/blobs").contains { $0.hasSuffix(".incomplete") })
                #expect(exists(cache + "/.locks/models--org--tiny/" + Fixtures.shard1.etag + ".lock"))
            }
        }
    }
}
