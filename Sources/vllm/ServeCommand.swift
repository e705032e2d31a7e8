import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMServer
import VLLMToolParsers

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the OpenAI-compatible HTTP server.",
        discussion: """
            Serves /v1/models, /v1/completions, /v1/chat/completions, /tokenize, /detokenize, \
            /health, /version and /metrics; with VLLM_ALLOW_RUNTIME_LORA_UPDATING=true also \
            /v1/load_lora_adapter and /v1/unload_lora_adapter. SIGTERM or SIGINT stops it gracefully.
            """)

    @Argument(help: "The model: a hub repo id, a checkpoint directory or a GGUF file (the same as --model).")
    var modelTag: String?

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @OptionGroup(title: "vLLM flags accepted for compatibility") var compatibility: CompatibilityOptions

    @Option(help: "Host name or address to listen on.")
    var host = "0.0.0.0"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8000

    @OptionGroup(title: "Requests") var requests: RequestOptions

    @Option(help: "Require this key as 'Authorization: Bearer KEY' on /v1 routes (default: $VLLM_API_KEY).")
    var apiKey: String?

    @Option(help: "A Jinja chat template file to use instead of the model's.")
    var chatTemplate: String?

    @Flag(help: "Let requests bring their own chat_template.")
    var trustRequestChatTemplate = false

    @Flag(help: "Let the model choose to call tools (tool_choice auto); needs --tool-call-parser.")
    var enableAutoToolChoice = false

    @Option(help: "How to read tool calls from the output: \(ToolParserRegistry.names.joined(separator: ", ")).")
    var toolCallParser: String?

    @Option(help: "Split <think>…</think> reasoning into reasoning_content (\(ReasoningParser.names.joined(separator: ", "))); structured outputs then apply after it.")
    var reasoningParser: String?


    @OptionGroup(title: "Limits") var limits: ServerLimitOptions

    @OptionGroup(title: "Optional server features") var features: ServerFeatureOptions

    @Option(parsing: .unconditional, help: "Engine seed (vLLM's --seed): requests without a seed of their own draw one from it, so a restarted server answers the same requests in the same order alike.")
    var seed: Int64?

    @Flag(help: "Do not log requests.")
    var disableLogRequests = false

    @Option(help: "Log level: trace, debug, info, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "vLLM's name for --log-level (it sets uvicorn's); the same values.")
    var uvicornLogLevel: String?

    @Option(help: "Log lines as plain text or as one JSON object per line (time, level, logger, message, fields), for log shippers: \(LogFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var logFormat: LogFormat = .text

    private var level: String { uvicornLogLevel ?? logLevel }

    func validate() throws {
        if modelTag != nil && engine.modelOptions.model != nil && modelTag != engine.modelOptions.model {
            throw ValidationError("the model is given twice (\(modelTag!) and --model \(engine.modelOptions.model!))")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        if enableAutoToolChoice && toolCallParser == nil {
            throw ValidationError("--enable-auto-tool-choice requires --tool-call-parser")
        }
        if let name = toolCallParser, ToolParserRegistry.parsers[name] == nil {
            throw ValidationError("unknown --tool-call-parser \(name); known: \(ToolParserRegistry.names.joined(separator: ", "))")
        }
        if let name = reasoningParser, ReasoningParser.parsers[name] == nil {
            throw ValidationError("unknown --reasoning-parser \(name); known: \(ReasoningParser.names.joined(separator: ", "))")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw ValidationError("--log-level must be one of trace, debug, info, warning, error, critical; got \(level)")
        }
    }

    func run() async throws {
        LogFormat.current = logFormat
        if logFormat == .json { JSONLogHandler.bootstrap() }
        let model = modelTag ?? engine.modelOptions.model
        var options = try requests.serverOptions(engine: engine, compatibility: compatibility)
        options.host = host
        options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["VLLM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = chatTemplate {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read --chat-template \(file)") }
            options.chatTemplate = String(decoding: data, as: UTF8.self)
        }
        options.trustRequestChatTemplate = trustRequestChatTemplate
        options.enableAutoToolChoice = enableAutoToolChoice
        options.toolCallParser = toolCallParser
        options.disableLogRequests = disableLogRequests
        limits.apply(to: &options)
        features.apply(to: &options)
        raiseOpenFileLimit()
        options.logLevel = level
        options.allowRuntimeLoRAUpdating = ServerOptions.environmentFlag(ProcessInfo.processInfo.environment["VLLM_ALLOW_RUNTIME_LORA_UPDATING"])
        let local = try await engine.resolved(model)
        var args = local.args
        args.reasoningParser = reasoningParser
        args.seed = seed.map { UInt64(bitPattern: $0) }
        compatibility.applyLoadFormat(to: &args)
        let llm = try makeEngineClient(model: local.model, args: args)
        try await OpenAIServer.run(engine: llm, modelName: model ?? DefaultModel.servedName, options: options)
    }
}

extension LogFormat: ExpressibleByArgument {}

/// As vLLM does at start: raise the soft limit on open files to the hard one (at most 65,536),
/// so the connection cap, not the default of 1,024 descriptors, decides how many clients fit.
private func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted = min(limit.rlim_max, 65536)
    guard limit.rlim_cur < wanted else { return }
    limit.rlim_cur = wanted
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
