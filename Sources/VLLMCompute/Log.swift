#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line to standard error (start-up information, warnings).
public func logInfo(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    line.withCString { _ = write(2, $0, strlen($0)) }
}

/// A one-line progress bar on standard error for long start-up work (repacking a model's
/// weights), redrawn in place; silent when standard error is not a terminal, so logs and
/// pipes get no carriage returns.
public struct ProgressBar {
    private let label: String
    private let total: Int
    private let shown: Bool
    private var done = 0
    private var lastPercent = -1

    public init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        shown = isatty(2) != 0
    }

    public mutating func advance(by n: Int = 1) {
        done = min(total, done + n)
        guard shown else { return }
        let percent = done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30, filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\r\(label) \(bar) \(percent)% (\(done)/\(total))" + (done == total ? "\n" : "")
        line.withCString { _ = write(2, $0, strlen($0)) }
    }
}
