#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// How log lines are written (`--log-format`): plain text, or one JSON object per line for
/// log shippers.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    private static let selected = Atomic<Bool>(false)

    /// The format every log line of this process uses; set once at start.
    public static var current: LogFormat {
        get { selected.load(ordering: .relaxed) ? .json : .text }
        set { selected.store(newValue == .json, ordering: .relaxed) }
    }

    /// One JSON log line: `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `message`, then
    /// `fields` in their order. Values are JSON-escaped strings.
    public static func jsonLine(level: String, logger: String, message: String, fields: [(String, String)] = []) -> String {
        var line = "{\"time\":" + jsonString(timestamp()) + ",\"level\":" + jsonString(level)
            + ",\"logger\":" + jsonString(logger) + ",\"message\":" + jsonString(message)
        for (key, value) in fields { line += "," + jsonString(key) + ":" + jsonString(value) }
        return line + "}\n"
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(now.tv_nsec / 1_000_000)
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }
}

/// Writes one line to standard error (start-up information, warnings).
public func logInfo(_ message: String) {
    var line = message
    if line.hasSuffix("\n") { line.removeLast() }
    line = LogFormat.current == .json ? LogFormat.jsonLine(level: "info", logger: "vllm", message: line) : line + "\n"
    writeToStandardError(line)
}

/// One write, so lines from several threads never interleave.
public func writeToStandardError(_ line: String) {
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
