import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMServer

struct RunBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-batch",
        abstract: "Run an OpenAI batch file (JSON lines) offline through the server's request handling.",
        discussion: """
            Each input line is {"custom_id", "method": "POST", "url": "/v1/completions" or \
            "/v1/chat/completions", "body": {...}}; all lines run concurrently, so they batch. The \
            output has one line per input line, in input order: {"id", "custom_id", "response": \
            {"status_code", "request_id", "body"}, "error"}. A failing line carries its error and \
            the batch goes on.
            """)

    @Option(name: [.customShort("i"), .customLong("input-file")], help: "The batch file to read (JSON lines).")
    var inputFile: String

    @Option(name: [.customShort("o"), .customLong("output-file")], help: "Where to write the results ('-': standard output).")
    var outputFile: String

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @OptionGroup(title: "vLLM flags accepted for compatibility") var compatibility: CompatibilityOptions

    @OptionGroup(title: "Requests") var requests: RequestOptions

    @Flag(help: "Log each request as it is received.")
    var enableLogRequests = false

    @Flag(help: "Serve the batch's Prometheus metrics over HTTP (--url, --port) while it runs.")
    var enableMetrics = false

    @Option(help: "Address the metrics listener binds (with --enable-metrics).")
    var url = "0.0.0.0"

    @Option(help: "Port of the metrics listener (with --enable-metrics; 0 picks a free one).")
    var port = 8000

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: inputFile) else { throw CLIError("cannot read --input-file \(inputFile)") }
        let lines = String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        if let problem = BatchRunner.firstMalformedLine(lines) { throw CLIError("\(inputFile) \(problem)") }
        let out = try OutputFile(path: outputFile)
        var options = try requests.serverOptions(engine: engine, compatibility: compatibility)
        options.disableLogRequests = !enableLogRequests
        let model = engine.modelOptions.model
        var (path, args) = try await engine.resolved(model)
        compatibility.applyLoadFormat(to: &args)
        let llm = try makeEngineClient(model: path, args: args)
        defer { llm.shutdown() }
        let summary = try await BatchRunner.run(engine: llm, modelName: model ?? DefaultModel.servedName, options: options,
                                                lines: lines, maxInFlight: 2 * engine.maxNumSeqs,
                                                metricsAddress: enableMetrics ? (url, port) : nil) { try out.write($0 + "\n") }
        try out.close()
        FileHandle.standardError.write(Data("run-batch: \(summary.lines) lines, \(summary.failed) failed\n".utf8))
    }
}

/// A file being written line by line, or standard output for "-".
private struct OutputFile {
    let handle: FileHandle
    let isStdout: Bool

    init(path: String) throws {
        if path == "-" {
            handle = .standardOutput
            isStdout = true
            return
        }
        // Written in place (vLLM opens the file for writing): a reader holding the file open
        // sees the lines, which a new file renamed over it would hide.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot write --output-file \(path)") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        isStdout = false
    }

    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    func close() throws { if !isStdout { try handle.close() } }
}
