import Foundation

/// Locations of the default model and the shared reference data, for tests.
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

    static func referenceLines(_ file: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: referenceDir.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
