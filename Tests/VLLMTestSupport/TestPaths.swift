import Foundation

/// Locations of the default model and the shared reference data, for tests.
public enum TestPaths {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `scripts/test` fetches the default model before running the suite; a missing model fails
    /// the tests that need it rather than skipping them.
    public static var defaultModel: String {
        if let p = ProcessInfo.processInfo.environment["VLLM_TEST_MODEL"] { return p }
        return NSHomeDirectory() + "/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// The tiny random models of scripts/make-tiny-models.py (one directory per architecture).
    public static let tinyModels = repoRoot.appendingPathComponent("Tests/Fixtures/tiny-models")

    /// Files written by `torch.save` (scripts/make-torch-tensor-fixtures.py).
    public static let torchTensors = repoRoot.appendingPathComponent("Tests/Fixtures/torch-tensors")

    public static let referenceDir = repoRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/reference/smollm2-135m-instruct-q4_1")

    /// Each line of a JSONL reference file as a dictionary.
    public static func referenceLines(_ file: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: referenceDir.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Decodes every line of a JSONL reference file as `T` (extra fields are ignored).
    public static func referenceLines<T: Decodable>(_ file: String, as: T.Type) throws -> [T] {
        let text = try String(contentsOf: referenceDir.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}
