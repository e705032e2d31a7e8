import Foundation
import Testing
import VLLMTestSupport
@testable import VLLMHub

/// Python's huggingface_hub reads a cache this package wrote as its own
/// (scripts/check-hub-cache.py). Needs python3 with huggingface_hub (.ci/run installs it); a
/// machine without it fails this test rather than skipping it.
@Suite struct PythonInteropTests {
    @Test func huggingFaceHubReadsTheCacheWeWrote() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.tiny()]) { hub in
                let locator = makeLocator(cache: cache, endpoint: hub.endpoint)
                _ = try await locator.locate("org/tiny")
                _ = try await locator.locate("org/tiny", revision: "v1")
                try Self.check(cache: cache, revision: "main", files: Fixtures.wanted.map(\.path))
                try Self.check(cache: cache, revision: "v1", files: ["config.json", "model.safetensors"])
                try Self.check(cache: cache, revision: Fixtures.commitA, files: ["config.json"])
            }
        }
    }

    /// While Python's huggingface_hub holds a blob's lock (as during its own download of it),
    /// a download waits, then finds the blob Python wrote and does not fetch it again.
    @Test func aDownloadWaitsForPythonsLockOnTheSameBlob() async throws {
        try await withTemporaryDirectory { cache in
            try await FakeHub.with([Fixtures.simple(id: "org/simple")]) { hub in
                let etag = Fixtures.single.etag
                let source = cache + "/content"
                try Data(Fixtures.single.content).write(to: URL(fileURLWithPath: source))
                let holder = """
                    import os, shutil, sys, time
                    from huggingface_hub.utils import WeakFileLock
                    lock, blob, source = sys.argv[1:]
                    os.makedirs(os.path.dirname(lock), exist_ok=True)
                    os.makedirs(os.path.dirname(blob), exist_ok=True)
                    with WeakFileLock(lock):
                        print("locked", flush=True)
                        time.sleep(1.0)
                        shutil.copyfile(source, blob + ".incomplete")
                        os.replace(blob + ".incomplete", blob)
                    """
                let python = try Self.start(["-c", holder, cache + "/.locks/models--org--simple/\(etag).lock",
                                              cache + "/models--org--simple/blobs/" + etag, source])
                #expect(python.firstLine == "locked")
                let located = try await makeLocator(cache: cache, endpoint: hub.endpoint).locate("org/simple")
                python.process.waitUntilExit()
                #expect(python.process.terminationStatus == 0, "\(python.rest())")
                #expect(fileBytes(located.path + "/model.safetensors") == Fixtures.single.content)
                #expect(!hub.requests.contains { $0.method == "GET" && $0.path.hasSuffix("model.safetensors") })
            }
        }
    }

    static func check(cache: String, revision: String, files: [String]) throws {
        let script = TestPaths.repoRoot.appendingPathComponent("scripts/check-hub-cache.py").path
        let python = try start([script, cache, "org/tiny", revision] + files)
        let text = python.rest()
        python.process.waitUntilExit()
        #expect(python.process.terminationStatus == 0, "huggingface_hub disagrees with the cache (revision \(revision)): \(text)")
    }

    struct Python {
        let process: Process
        let output: FileHandle
        /// Blocks until the script prints its first line.
        var firstLine: String {
            var bytes: [UInt8] = []
            while let byte = try? output.read(upToCount: 1)?.first, byte != 10 { bytes.append(byte) }
            return String(decoding: bytes, as: UTF8.self)
        }
        func rest() -> String { String(decoding: output.readDataToEndOfFile(), as: UTF8.self) }
    }

    static func start(_ arguments: [String]) throws -> Python {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return Python(process: process, output: output.fileHandleForReading)
    }
}
