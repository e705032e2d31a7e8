import Foundation
import Prometheus
import Synchronization
import VLLM

/// The Prometheus metrics at `/metrics`, with vLLM's names and meanings.
///
/// Gauges and the scheduler's running totals (prefix cache, preemptions) are read from the
/// engine's `SchedulerStats` when scraped; token counts, finished requests and the latency
/// histograms are recorded as requests run.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let labels: [(String, String)]

    private let running, waiting, kvUsage: Gauge
    private let prefixQueries, prefixHits, preemptions: Counter
    private let promptTokens, generationTokens: Counter
    private let success: [String: Counter]
    let ttft, itl, e2e: DurationHistogram
    /// The scheduler totals already added to the counters.
    private let seen = Mutex<(queries: Int, hits: Int, preemptions: Int)>((0, 0, 0))

    init(modelName: String) {
        let registry = self.registry
        let labels = [("model_name", modelName), ("engine", "0")]
        self.labels = labels
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels + extra)
        }
        func histogram(_ name: String, _ help: String, _ buckets: [Double]) -> DurationHistogram {
            registry.makeDurationHistogram(descriptor: .init(metricName: name, unitName: "", helpText: help),
                                           labels: labels, buckets: buckets.map { .milliseconds(Int64($0 * 1000)) })
        }
        running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
        waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        kvUsage = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
        prefixQueries = counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.")
        prefixHits = counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.")
        preemptions = counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.")
        promptTokens = counter("vllm:prompt_tokens", "Number of prefill tokens processed.")
        generationTokens = counter("vllm:generation_tokens", "Number of generation tokens processed.")
        var success: [String: Counter] = [:]
        for reason in ["stop", "length", "abort"] {
            success[reason] = counter("vllm:request_success", "Count of successfully processed requests.", [("finished_reason", reason)])
        }
        self.success = success
        ttft = histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                         [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560])
        itl = histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
                        [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80])
        e2e = histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
                        [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680])
    }

    func recordPrompt(tokens: Int) { promptTokens.increment(by: Int64(tokens)) }
    func recordGenerated(tokens: Int) { if tokens > 0 { generationTokens.increment(by: Int64(tokens)) } }
    func recordFinished(reason: String) { success[reason]?.increment() }

    /// The exposition text, with the scheduler's numbers brought up to date first.
    func scrape(_ stats: SchedulerStats) -> [UInt8] {
        running.set(Double(stats.numRunning))
        waiting.set(Double(stats.numWaiting))
        kvUsage.set(stats.kvUsage)
        seen.withLock { s in
            // Counters only grow: add what the scheduler counted since the last scrape.
            prefixQueries.increment(by: Int64(max(0, stats.prefixCacheQueries - s.queries)))
            prefixHits.increment(by: Int64(max(0, stats.prefixCacheHits - s.hits)))
            preemptions.increment(by: Int64(max(0, stats.numPreemptions - s.preemptions)))
            s = (max(s.queries, stats.prefixCacheQueries), max(s.hits, stats.prefixCacheHits), max(s.preemptions, stats.numPreemptions))
        }
        return registry.emitToBuffer()
    }
}

/// Times one engine request for the latency histograms and counts its tokens.
struct RequestTimer {
    let metrics: ServerMetrics
    private let start = ContinuousClock.now
    private var last: ContinuousClock.Instant?
    private var tokens = 0
    private var finishReasons: [String] = []

    init(metrics: ServerMetrics, promptTokens: Int) {
        self.metrics = metrics
        metrics.recordPrompt(tokens: promptTokens)
    }

    mutating func observe(_ out: RequestOutput) {
        let total = out.outputs.reduce(0) { $0 + $1.tokenIDs.count }
        guard total > tokens else { return }
        let now = ContinuousClock.now
        if let last { metrics.itl.record(now - last) } else { metrics.ttft.record(now - start) }
        metrics.recordGenerated(tokens: total - tokens)
        last = now
        tokens = total
        finishReasons = out.outputs.compactMap(\.finishReason)
    }

    /// The request ended (finished, or its stream closed early: an abort).
    func finish() {
        metrics.e2e.record(ContinuousClock.now - start)
        if finishReasons.isEmpty { metrics.recordFinished(reason: "abort") }
        for r in finishReasons { metrics.recordFinished(reason: r) }
    }
}
