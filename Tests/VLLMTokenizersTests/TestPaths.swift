import Foundation

/// Locations of the default model and the shared reference data, for tests
/// (a copy of VLLMModelsTests' TestPaths: test targets cannot share files).
enum TestPaths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `scripts/test` fetches the default model before running the suite; a missing model fails
    /// the tests that need it rather than skipping them.
    static var defaultModel: String {
        if let p = ProcessInfo.processInfo.environment["VLLM_TEST_MODEL"] { return p }
        return NSHomeDirectory() + "/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    static let referenceDir = repoRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/reference/smollm2-135m-instruct-q4_1")

    /// Decodes every line of a JSONL reference file as `T` (extra fields are ignored).
    static func referenceLines<T: Decodable>(_ file: String, as: T.Type) throws -> [T] {
        let text = try String(contentsOf: referenceDir.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}
