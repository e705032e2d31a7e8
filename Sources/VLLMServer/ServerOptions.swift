import Foundation
import VLLM

/// How `vllm serve` runs the HTTP side, with vLLM's flag names in the docs.
public struct ServerOptions: Sendable {
    /// `--host`, `--port`.
    public var host = "0.0.0.0"
    public var port = 8000
    /// `--served-model-name`: the names requests may use; the first is reported. Empty: the
    /// model argument as given.
    public var servedModelNames: [String] = []
    /// `--api-key` / `VLLM_API_KEY`: when set, `/v1/*` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// `--chat-template`: template text to use instead of the model's.
    public var chatTemplate: String?
    /// `--trust-request-chat-template`: a request may bring its own `chat_template`.
    public var trustRequestChatTemplate = false
    /// `--enable-auto-tool-choice` with `--tool-call-parser NAME`.
    public var enableAutoToolChoice = false
    public var toolCallParser: String?
    /// `--max-log-len`: characters of a prompt shown in request logs (nil: all).
    public var maxLogLen: Int?
    /// `--disable-log-requests`.
    public var disableLogRequests = false
    /// `--log-level`: trace, debug, info, warning, error, critical.
    public var logLevel = "info"
    /// `--max-logprobs`: the most alternatives per token a request may ask for.
    public var maxLogprobs = 20
    /// How long in-flight requests may run after SIGTERM/SIGINT before they are aborted.
    public var gracefulShutdownSeconds = 30
    /// `--lora-modules`: the adapters the engine loaded at start, in flag order (the engine gave
    /// the i-th the id i + 1). The `model` field may name them; `/v1/models` lists them.
    public var loraModules: [LoRAModule] = []
    /// `VLLM_ALLOW_RUNTIME_LORA_UPDATING`: serve `/v1/load_lora_adapter` and
    /// `/v1/unload_lora_adapter`.
    public var allowRuntimeLoRAUpdating = false

    /// `--max-request-body-bytes`: larger bodies get 413. nil: 64 bytes per token of the
    /// longest allowed prompt, and at least 16 MiB.
    public var maxRequestBodyBytes: Int?
    /// `--max-waiting-requests`: with this many requests already waiting for the engine, new
    /// ones get 503 with `Retry-After` (nil: no limit).
    public var maxWaitingRequests: Int? = 1024
    /// `--max-connections`: connections beyond this many open ones are closed at once (nil: no
    /// limit besides the process's file descriptors).
    public var maxConnections: Int? = 1024
    /// `VLLM_HTTP_TIMEOUT_KEEP_ALIVE` (seconds): a connection that sends nothing for this long
    /// while idle or in the middle of a request is closed (slow or stalled clients).
    public var keepAliveTimeoutSeconds = 5.0
    /// `--lora-path-root`: adapters loaded at run time (`/v1/load_lora_adapter`) must lie in
    /// this directory once symlinks are followed (nil: anywhere the server can read).
    public var loraPathRoot: String?
    /// `--chat-template-timeout`: the wall-clock cap on rendering one chat template (seconds).
    public var chatTemplateTimeoutSeconds = 10.0
    /// `--uds`: listen on this Unix domain socket instead of host and port.
    public var unixSocket: String?
    /// `--root-path`: the prefix (no trailing slash) a proxy serves us under; routes answer
    /// with and without it.
    public var rootPath: String?
    /// `--enable-request-id-headers`: every response carries `X-Request-Id`.
    public var enableRequestIDHeaders = false
    /// `--enable-server-load-tracking`: `/load` reports the generation requests in flight.
    public var enableServerLoadTracking = false
    /// `--enable-tokenizer-info-endpoint`: serve `/tokenizer_info`.
    public var enableTokenizerInfoEndpoint = false
    /// `--return-tokens-as-token-ids`: logprobs tokens are written `token_id:N` unless a
    /// request sets `return_tokens_as_token_ids` itself.
    public var returnTokensAsTokenIDs = false
    /// `--show-hidden-metrics-for-version 0.10`: `/metrics` also has the metrics vLLM 0.11
    /// hides (deprecated in 0.10), under their old names.
    public var showHiddenMetrics = false
    /// `--enable-sleep-mode`: serve `/sleep`, `/wake_up`, `/is_sleeping`.
    public var enableSleepMode = false
    /// `--enable-prompt-tokens-details`: usage reports the prompt tokens the prefix cache
    /// supplied, as vLLM does only when there were some.
    public var enablePromptTokensDetails = false

    /// The body cap in force for a model of `maxModelLen` tokens.
    public func bodyLimit(maxModelLen: Int) -> Int {
        maxRequestBodyBytes ?? max(16 << 20, maxModelLen.multipliedReportingOverflow(by: 64).partialValue)
    }

    /// Reads an on/off environment variable the way vLLM does: "1" or "true" in any case,
    /// surrounding spaces ignored, is on; anything else, or unset, is off.
    public static func environmentFlag(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["1", "true"].contains(value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
    }

    public init() {}
}
