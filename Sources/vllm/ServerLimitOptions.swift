import ArgumentParser
import Foundation
import VLLMServer

/// `vllm serve`'s limits on what one client may take: body size, queue, connections, template
/// time, where runtime LoRA adapters may come from, and the keep-alive timeout (vLLM's
/// `VLLM_HTTP_TIMEOUT_KEEP_ALIVE` variable).
struct ServerLimitOptions: ParsableArguments {
    @Option(help: "Refuse request bodies larger than this many bytes with 413 (default: 64 bytes per token of --max-model-len, at least 16 MiB).")
    var maxRequestBodyBytes: Int?

    @Option(help: "Answer 503 with Retry-After to new requests while this many wait for the engine (0: no limit).")
    var maxWaitingRequests = 1024

    @Option(help: "Close connections beyond this many open ones at once (0: no limit).")
    var maxConnections = 1024

    @Option(help: "Stop rendering a chat template after this many seconds (the request gets 400).")
    var chatTemplateTimeout = 10.0

    @Option(help: "Adapters loaded at run time (/v1/load_lora_adapter) must lie inside this directory, symlinks followed.")
    var loraPathRoot: String?

    private var keepAlive: String? { ProcessInfo.processInfo.environment["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"] }

    func validate() throws {
        if let n = maxRequestBodyBytes, n < 1 { throw ValidationError("--max-request-body-bytes must be positive, got \(n)") }
        guard maxWaitingRequests >= 0 else { throw ValidationError("--max-waiting-requests must not be negative, got \(maxWaitingRequests)") }
        guard maxConnections >= 0 else { throw ValidationError("--max-connections must not be negative, got \(maxConnections)") }
        guard chatTemplateTimeout > 0 else { throw ValidationError("--chat-template-timeout must be positive, got \(chatTemplateTimeout)") }
        if let v = keepAlive, (Double(v) ?? 0) <= 0 {
            throw ValidationError("VLLM_HTTP_TIMEOUT_KEEP_ALIVE must be a positive number of seconds, got '\(v)'")
        }
    }

    func apply(to options: inout ServerOptions) {
        options.maxRequestBodyBytes = maxRequestBodyBytes
        options.maxWaitingRequests = maxWaitingRequests == 0 ? nil : maxWaitingRequests
        options.maxConnections = maxConnections == 0 ? nil : maxConnections
        options.chatTemplateTimeoutSeconds = chatTemplateTimeout
        options.loraPathRoot = loraPathRoot
        if let v = keepAlive.flatMap(Double.init) { options.keepAliveTimeoutSeconds = v }
    }
}
