import Foundation
import Testing
@testable import VLLMModels

/// Runs one format's cases: each mutant is written to a file in a fresh temporary directory,
/// parsed, and must end in success or in the loader's own error naming that file. A trap ends
/// the test process, so it fails the suite by itself; with VLLM_FUZZ_VERBOSE=1 the last printed
/// case is the culprit, and its file is still on disk.
final class FuzzHarness {
    let format: String
    let dir: String
    private(set) var accepted = 0, refused = 0
    private(set) var failures: [String] = []
    /// Distinct refusal messages with numbers and the path blanked: how much of the parser the
    /// corpus reaches.
    private(set) var reasons: [String: Int] = [:]
    private let start = Date()

    init(format: String) throws {
        self.format = format
        dir = NSTemporaryDirectory() + "vllm-fuzz-\(format)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// The path case `index` writes to.
    func path(_ index: Int, ext: String) -> String { "\(dir)/case-\(index).\(ext)" }

    /// Writes `bytes` to `path`, then extends the file with a hole to `size` bytes (when larger):
    /// a multi-megabyte model without writing its tensor data.
    func write(_ bytes: [UInt8], to path: String, size: Int? = nil) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if let size, size > bytes.count { guard truncate(path, off_t(size)) == 0 else { throw POSIXError(.EIO) } }
    }

    /// Parses one mutant; `path` is what the error must name (the adapter directory for LoRA).
    func check(_ what: String, path: String, _ parse: () throws -> Void) {
        if FuzzBudget.verbose { print("[fuzz \(format)] \(path): \(what)") }
        let message: String
        do {
            try parse()
            accepted += 1
            return
        } catch let e as ModelLoadError {
            message = e.description
        } catch let e as LoRAError {
            message = e.description
        } catch {
            failures.append("\(what): threw \(type(of: error)), not the loader's error: \(error)")
            return
        }
        guard message.utf8.count < 4096 else {
            failures.append("\(what): a \(message.utf8.count)-byte error message: \(message.prefix(200))…")
            return
        }
        guard message.contains(path) else {
            failures.append("\(what): the error does not name \(path): \(message)")
            return
        }
        // Digits blanked by hand: a Regex here costs more than the parse under test.
        refused += 1
        let reason = String(message.replacingOccurrences(of: path, with: "<path>").prefix(100).map { $0.isNumber ? "N" : $0 })
        reasons[reason, default: 0] += 1
    }

    /// Removes the temporary files and reports: every failure as a test issue, and one summary line.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        try? FileManager.default.removeItem(atPath: dir)
        let seconds = Date().timeIntervalSince(start)
        print("[fuzz \(format)] \(accepted + refused + failures.count) cases in \(String(format: "%.1f", seconds)) s: "
              + "\(accepted) accepted, \(refused) refused (\(reasons.count) distinct reasons), \(failures.count) failures")
        if FuzzBudget.verbose {
            for (r, n) in reasons.sorted(by: { $0.value > $1.value }) { print("  \(n)× \(r)") }
        }
        for f in failures.prefix(20) { Issue.record("\(format): \(f)", sourceLocation: sourceLocation) }
        #expect(refused > 0, "no mutant of \(format) was refused: the mutations miss the parser", sourceLocation: sourceLocation)
    }
}
