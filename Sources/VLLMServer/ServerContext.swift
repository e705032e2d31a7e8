import Foundation
import Logging
import Synchronization
import VLLM
import VLLMJinja
import VLLMToolParsers

/// What every handler shares: the engine, the model's names and tokenizer, the chat renderer,
/// the tool parser, the LoRA adapters and the metrics.
final class ServerContext: Sendable {
    let engine: any EngineClient
    let tokenizer: Tokenizer
    let maxModelLen: Int
    let modelNames: [String]
    let modelRoot: String
    let renderer: ChatRenderer
    /// Set when `--enable-auto-tool-choice --tool-call-parser NAME` were given.
    let toolParser: ToolParser?
    /// The model writes gpt-oss's harmony format: chat replies are split into reasoning, content
    /// and tool calls by channel (vLLM's `use_harmony`).
    let harmony: Bool
    /// `--reasoning-parser`: chat replies' `<think>` part becomes `reasoning_content`.
    let reasoningParser: ReasoningParser?
    let options: ServerOptions
    let metrics: ServerMetrics
    /// The LoRA adapters a request's `model` field may name.
    let loras: LoRARegistry
    let logger: Logger
    let startTime = Int(Date().timeIntervalSince1970)
    /// Set by a shutdown signal: `/health` answers 503 and new generation requests are refused
    /// while the ones in flight finish.
    let draining = Atomic<Bool>(false)
    /// Generation requests whose responses are not finished (`/load`).
    let serverLoad = Atomic<Int>(0)
    private let nextEngineKey = Mutex<UInt64>(0)

    /// - Parameters:
    ///   - modelName: the model argument as given (reported when no `--served-model-name`).
    init(engine: any EngineClient, modelName: String, options: ServerOptions, logger: Logger) throws {
        self.engine = engine
        tokenizer = engine.engine.tokenizer
        maxModelLen = engine.engine.maxModelLen
        modelRoot = modelName
        modelNames = options.servedModelNames.isEmpty ? [modelName] : options.servedModelNames
        self.options = options
        self.logger = logger
        let source = options.chatTemplate ?? tokenizer.chatTemplate
        renderer = ChatRenderer(template: try source.map { try ChatTemplate($0) }, tokenizer: tokenizer,
                                trustRequestTemplate: options.trustRequestChatTemplate,
                                timeoutSeconds: options.chatTemplateTimeoutSeconds)
        if options.enableAutoToolChoice {
            guard let name = options.toolCallParser else {
                throw ServerSetupError("--enable-auto-tool-choice requires --tool-call-parser")
            }
            toolParser = try ToolParserRegistry.make(name: name)
        } else {
            toolParser = nil
        }
        harmony = engine.engine.config.architecture == "GptOssForCausalLM"
        reasoningParser = harmony ? nil : engine.engine.args.reasoningParser.flatMap { ReasoningParser.parsers[$0] }
        metrics = ServerMetrics(modelName: modelNames[0], args: engine.engine.args, numKVBlocks: engine.engine.numKVBlocks,
                                maxModelLen: maxModelLen, offloadBlocks: engine.engine.numOffloadingBlocks,
                                blockBytes: engine.engine.kvBlockBytes, showHidden: options.showHiddenMetrics,
                                replicas: engine.replicaStats.count)
        engine.observeSteps { [metrics] replica, tokens in metrics.engines[replica].recordStep(tokens: tokens) }
        loras = LoRARegistry(modules: options.loraModules)
    }

    /// A response id: the prefix (`cmpl-`, `chatcmpl-`) and the client's `request_id`, or a
    /// random one, as vLLM forms them. It is only a label: two calls may carry the same one.
    func makeID(_ prefix: String, requested: String? = nil) -> String {
        prefix + (requested ?? String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16))
    }

    /// The engine's key for one of a call's requests: made here, unique for the server's
    /// life, never derived from anything a client sent.
    func makeEngineKey() -> String {
        nextEngineKey.withLock { next in
            defer { next += 1 }
            return "srv-\(next)"
        }
    }

    /// What `/health` reports: the engine runs and the server is not draining.
    var healthy: Bool { !draining.load(ordering: .relaxed) && engine.isRunning }

    var now: Int { Int(Date().timeIntervalSince1970) }

    /// vLLM's defaults with the model's generation-config values over them.
    var samplingDefaults: SamplingParams { engine.engine.defaultSamplingParams }

    var bodyLimit: Int { options.bodyLimit(maxModelLen: maxModelLen) }

    /// The most engine requests (prompts × candidates) one completions call may start: more
    /// than the engine runs at once, or than `n` allows, only queue up work for one client.
    var maxEngineRequestsPerCall: Int { max(SamplingFields.maxN, engine.engine.engineCore.scheduler.config.maxNumSeqs) }

    /// Logs a request as vLLM does (`--disable-log-requests`, `--max-log-len`).
    func logRequest(_ id: String, prompt: String, params: SamplingParams, lora: LoRARequest?) {
        guard !options.disableLogRequests else { return }
        let limit = options.maxLogLen
        let adapter = lora.map { ", lora: " + LogText.quoted($0.loraName, limit: limit) } ?? ""
        logger.info("Received request \(LogText.quoted(id, limit: limit)): prompt: \(LogText.quoted(prompt, limit: limit)), max_tokens: \(params.maxTokens), temperature: \(params.temperature), n: \(params.n)\(adapter)")
    }

    /// vLLM's checks of the `prompt_logprobs` field (both endpoints take it); returns the count
    /// to compute (-1: the whole vocabulary).
    func checkPromptLogprobs(_ k: Int?, stream: Bool) throws -> Int? {
        guard let k else { return nil }
        guard k >= 0 || k == -1 else { throw APIError.badRequest("`prompt_logprobs` must be a positive value or -1.", param: "prompt_logprobs") }
        if stream && k != 0 {
            throw APIError.badRequest("`prompt_logprobs` are not available when `stream=True`.", param: "prompt_logprobs")
        }
        return try checkLogprobs(k, kind: "prompt", param: "prompt_logprobs")
    }

    /// A logprobs count against `--max-logprobs` (-1 there: no limit but the vocabulary), as
    /// vLLM's processor checks it: -1 asks for the whole vocabulary.
    func checkLogprobs(_ k: Int, kind: String, param: String) throws -> Int {
        let vocab = tokenizer.vocabSize
        let wanted = k == -1 ? vocab : k
        let limit = options.maxLogprobs == -1 ? vocab : options.maxLogprobs
        guard wanted <= limit else {
            throw APIError.badRequest("Requested \(kind) logprobs of \(wanted), which is greater than max allowed: \(limit)", param: param)
        }
        return wanted
    }
}

/// A server setting that cannot work, found at start-up.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
