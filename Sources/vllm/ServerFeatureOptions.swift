import ArgumentParser
import VLLMServer

/// vLLM's optional server features: where it listens besides TCP, the path prefix a proxy adds,
/// and the endpoints and response fields vLLM serves only when asked.
struct ServerFeatureOptions: ParsableArguments {
    @Option(help: "Listen on this Unix domain socket instead of --host/--port.")
    var uds: String?

    @Option(help: "The path prefix a reverse proxy serves this server under (/llm): routes answer with and without it.")
    var rootPath: String?

    @Flag(help: "Answer every response with an X-Request-Id header: the request's own, or a new random one.")
    var enableRequestIdHeaders = false

    @Flag(help: "Count the generation requests in flight and serve the count at /load.")
    var enableServerLoadTracking = false

    @Flag(help: "Serve the tokenizer's configuration at /tokenizer_info.")
    var enableTokenizerInfoEndpoint = false

    @Flag(help: "Write logprobs tokens as 'token_id:N' (for tokens that are not valid UTF-8 on their own), unless a request says otherwise.")
    var returnTokensAsTokenIds = false

    @Option(help: "Also serve the metrics deprecated in this earlier version (0.10: vllm:gpu_cache_usage_perc, vllm:gpu_prefix_cache_queries, vllm:gpu_prefix_cache_hits).")
    var showHiddenMetricsForVersion: String?

    @Flag(help: "Serve /sleep, /wake_up and /is_sleeping: a sleeping engine releases its KV cache memory (level 2: and the weights' pages).")
    var enableSleepMode = false

    func validate() throws {
        if let root = rootPath, !root.hasPrefix("/") || root == "/" {
            throw ValidationError("--root-path must be a path such as /llm, got \(root)")
        }
        if let path = uds, path.isEmpty { throw ValidationError("--uds needs a socket path") }
        // vLLM shows hidden metrics for the previous minor version only.
        if let v = showHiddenMetricsForVersion, v != "0.10" {
            throw ValidationError("--show-hidden-metrics-for-version \(v): only the previous minor version (0.10) has hidden metrics")
        }
    }

    func apply(to options: inout ServerOptions) {
        options.unixSocket = uds
        options.rootPath = rootPath.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        options.enableRequestIDHeaders = enableRequestIdHeaders
        options.enableServerLoadTracking = enableServerLoadTracking
        options.enableTokenizerInfoEndpoint = enableTokenizerInfoEndpoint
        options.returnTokensAsTokenIDs = returnTokensAsTokenIds
        options.enableSleepMode = enableSleepMode
        options.showHiddenMetrics = showHiddenMetricsForVersion != nil
    }
}
