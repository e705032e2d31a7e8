import Logging
import VLLM

/// swift-log's handler for `--log-format json`: each event one JSON object on standard error, in
/// the same shape as the engine's own lines (`LogFormat.jsonLine`), with the event's source and
/// metadata as further string fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    /// Routes every swift-log logger of the process through this handler.
    public static func bootstrap() {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let fields = [("source", event.source)] + merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        writeToStandardError(LogFormat.jsonLine(level: event.level.rawValue, logger: label, message: "\(event.message)", fields: fields))
    }
}
