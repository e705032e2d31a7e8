import Foundation
@testable import VLLMHub

/// A fresh folder for one test's cache, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array((NSTemporaryDirectory() + "/vllm-hub-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
    let path = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A locator on `cache` that talks to `endpoint`, with HOME inside the cache folder so no real
/// token file or cache of this machine is read.
func makeLocator(cache: String, endpoint: String, _ extra: [String: String] = [:]) -> ModelLocator {
    var environment = ["HF_HUB_CACHE": cache, "HOME": cache + "/home", "HF_ENDPOINT": endpoint]
    environment.merge(extra) { $1 }
    return ModelLocator(environment: environment)
}

/// An endpoint nothing listens on: any request to it fails.
let unreachableEndpoint = "http://127.0.0.1:1"

func fileBytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }

func linkTarget(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }

func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

func names(in folder: String) -> Set<String> {
    Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
}

func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

enum Fixtures {
    static let commitA = String(repeating: "a1", count: 20)
    static let commitB = String(repeating: "b2", count: 20)

    /// Deterministic bytes that do not repeat with a short period.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    static let config = FakeFile("config.json", #"{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 8}"#)
    static let shard1 = FakeFile("model-00001-of-00002.safetensors", bytes: bytes(300_000, seed: 1))
    static let shard2 = FakeFile("model-00002-of-00002.safetensors", bytes: bytes(200_000, seed: 2))
    static let index = FakeFile("model.safetensors.index.json", """
        {"metadata": {"total_size": 500000}, "weight_map": {"a.weight": "\(shard1.path)", "b.weight": "\(shard2.path)", "c.weight": "\(shard2.path)"}}
        """)

    /// What a model repo holds on the hub, of which the default filter fetches `wanted`.
    static let wanted: [FakeFile] = [
        config, index, shard1, shard2,
        FakeFile("generation_config.json", #"{"do_sample": true}"#),
        FakeFile("tokenizer.json", #"{"model": {"type": "BPE"}}"#),
        FakeFile("tokenizer_config.json", #"{"eos_token": "<|im_end|>"}"#),
    ]
    static let unwanted: [FakeFile] = [
        FakeFile(".gitattributes", "*.safetensors filter=lfs"),
        FakeFile("README.md", "# tiny"),
        FakeFile("consolidated.safetensors", bytes: bytes(1000, seed: 3)),  // not in the index
        FakeFile("pytorch_model.bin", bytes: bytes(1000, seed: 4)),
        FakeFile("model.gguf", bytes: bytes(1000, seed: 5)),
        FakeFile("onnx/model.onnx", bytes: bytes(1000, seed: 6)),
        FakeFile("original/model.safetensors", bytes: bytes(1000, seed: 7)),
    ]

    /// A small unsharded model at commitB.
    static let single = FakeFile("model.safetensors", bytes: bytes(400_000, seed: 8))
    static let configB = FakeFile("config.json", #"{"architectures": ["LlamaForCausalLM"]}"#)

    /// "org/tiny": commitA (sharded, on main) and commitB (one file, tag v1).
    static func tiny(id: String = "org/tiny") -> FakeRepo {
        FakeRepo(id: id, commits: [commitA: wanted + unwanted, commitB: [configB, single]],
                 refs: ["main": commitA, "v1": commitB])
    }

    /// One config and one weights file on main.
    static func simple(id: String, token: String? = nil, gated: Bool = false) -> FakeRepo {
        FakeRepo(id: id, commits: [commitB: [configB, single]], refs: ["main": commitB], token: token, gated: gated)
    }
}
