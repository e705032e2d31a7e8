import Foundation
import Prometheus
import Synchronization
import VLLM

/// The Prometheus metrics at `/metrics`, with vLLM 0.11's names, types, help texts and buckets
/// (those of its V1 `PrometheusStatLogger` that mean something on this engine).
///
/// Gauges and the scheduler's running totals (prefix cache, preemptions) are read from the
/// engine's `SchedulerStats` when scraped; per-step token counts come from the engine loop;
/// per-request numbers are recorded when a request ends. A request here is one engine job
/// (one prompt of a call, with all its `n` choices); `request_success` counts each choice's
/// finish reason, as vLLM's child requests do.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Each engine replica's metrics, under vLLM's `engine` label with its index.
    let engines: [EngineMetrics]
    /// `vllm:lora_requests_info` (nil without LoRA): the last label set written, replaced on change.
    private let loraInfo: Mutex<(labels: [(String, String)], gauge: Gauge)?>
    private let maxLoras: Int?

    /// `offloadBlocks` and `blockBytes`: the KV offloading tier's size (nil: none) and the
    /// bytes one block moves.
    /// `showHidden`: also the metrics vLLM deprecated in its previous minor version
    /// (`--show-hidden-metrics-for-version 0.10`), under their old names.
    init(modelName: String, args: EngineArgs, numKVBlocks: Int, maxModelLen: Int, offloadBlocks: Int? = nil, blockBytes: Int = 0,
         showHidden: Bool = false, replicas: Int = 1) {
        let registry = self.registry
        engines = (0..<replicas).map {
            EngineMetrics(registry: registry, labels: [("model_name", modelName), ("engine", String($0))], args: args,
                          maxModelLen: maxModelLen, offloadBlocks: offloadBlocks, blockBytes: blockBytes, showHidden: showHidden)
        }
        // vLLM's info gauges: the value is 1 (cache config) or the time of the last update
        // (LoRA), the facts are in the labels.
        let cacheInfo: [(String, String)] = [
            ("block_size", String(args.blockSize)), ("cache_dtype", args.kvCacheDtype.rawValue),
            ("enable_prefix_caching", args.enablePrefixCaching ? "True" : "False"),
            ("gpu_memory_utilization", args.gpuMemoryUtilization.map { String($0) } ?? "None"),
            ("num_cpu_blocks", offloadBlocks.map(String.init) ?? "None"), ("num_gpu_blocks", String(numKVBlocks)),
            ("num_gpu_blocks_override", args.numGpuBlocksOverride.map(String.init) ?? "None"),
            ("swap_space", "0"),
        ]
        registry.makeGauge(descriptor: .init(metricName: "vllm:cache_config_info", unitName: "", helpText: "Information of the LLMEngine CacheConfig"),
                           labels: cacheInfo).set(1.0)
        maxLoras = args.enableLoRA ? args.maxLoras : nil
        loraInfo = Mutex(nil)
    }

    /// The exposition text, with each replica's scheduler numbers (`stats`, in replica order)
    /// brought up to date first.
    func scrape(_ stats: [SchedulerStats], loras: [LoRAAdapterInfo]) -> [UInt8] {
        for (metrics, s) in zip(engines, stats) { metrics.update(s) }
        if let maxLoras {
            updateLoRAInfo(waiting: stats.reduce([]) { $0.union($1.waitingLoRAIDs) },
                           running: stats.reduce([]) { $0.union($1.runningLoRAIDs) }, loras, maxLoras)
        }
        return registry.emitToBuffer()
    }

    /// `vllm:lora_requests_info`: one series whose labels name the adapters in use; a change
    /// of names replaces the series, as vLLM's gauge shows only the current label set.
    private func updateLoRAInfo(waiting: Set<Int>, running: Set<Int>, _ loras: [LoRAAdapterInfo], _ maxLoras: Int) {
        func names(_ ids: Set<Int>) -> String {
            loras.filter { ids.contains($0.intID) }.map(\.name).sorted().joined(separator: ",")
        }
        let labels = [("max_lora", String(maxLoras)), ("waiting_lora_adapters", names(waiting)),
                      ("running_lora_adapters", names(running))]
        loraInfo.withLock { current in
            if let c = current, c.labels.elementsEqual(labels, by: ==) {
                c.gauge.set(Date().timeIntervalSince1970)
                return
            }
            if let old = current?.gauge { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(descriptor: .init(metricName: "vllm:lora_requests_info", unitName: "", helpText: "Running stats on lora requests."),
                                           labels: labels)
            gauge.set(Date().timeIntervalSince1970)
            current = (labels, gauge)
        }
    }
}

/// One engine replica's metrics (all of vLLM's but the info gauges): its scheduler's gauges
/// and totals, read when scraped, and its requests' counters and histograms.
final class EngineMetrics: Sendable {
    private let running, waiting, kvUsage: Gauge
    /// `vllm:gpu_cache_usage_perc`, shown with the hidden metrics.
    private let oldKVUsage: Gauge?
    /// Counters fed from the scheduler's running totals, each with the total it follows.
    private let totals: [(counter: Counter, total: @Sendable (SchedulerStats) -> Int)]
    private let offloadUsage: Gauge?
    private let promptTokens, generationTokens: Counter
    private let success: [String: Counter]
    let ttft, itl, tpot, e2e, queueTime, inferenceTime, prefillTime, decodeTime: DurationHistogram
    let requestPromptTokens, requestGenerationTokens, maxGenerationTokens, paramsN, paramsMaxTokens, iterationTokens: ValueHistogram
    /// The scheduler totals already added to `totals`' counters.
    private let seen: Mutex<[Int]>

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)], args: EngineArgs, maxModelLen: Int,
         offloadBlocks: Int?, blockBytes: Int, showHidden: Bool) {
        func gauge(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels + extra)
        }
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels + extra)
        }
        func seconds(_ name: String, _ help: String, _ buckets: [Double]) -> DurationHistogram {
            registry.makeDurationHistogram(descriptor: .init(metricName: name, unitName: "", helpText: help),
                                           labels: labels, buckets: buckets.map { .nanoseconds(Int64(($0 * 1e9).rounded())) })
        }
        func values(_ name: String, _ help: String, _ buckets: [Int], unit: String = "") -> ValueHistogram {
            registry.makeValueHistogram(descriptor: .init(metricName: name, unitName: unit, helpText: help),
                                        labels: labels, buckets: buckets.map(Double.init))
        }
        running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
        waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        kvUsage = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
        var totals: [(counter: Counter, total: @Sendable (SchedulerStats) -> Int)] = [
            (counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens."), { $0.prefixCacheQueries }),
            (counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens."), { $0.prefixCacheHits }),
            (counter("vllm:num_preemptions", "Cumulative number of preemption from the engine."), { $0.numPreemptions }),
        ]
        if showHidden {
            oldKVUsage = gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage. DEPRECATED: use vllm:kv_cache_usage_perc.")
            totals.append((counter("vllm:gpu_prefix_cache_queries", "GPU prefix cache queries, in terms of number of queried tokens. DEPRECATED: use vllm:prefix_cache_queries."), { $0.prefixCacheQueries }))
            totals.append((counter("vllm:gpu_prefix_cache_hits", "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: use vllm:prefix_cache_hits."), { $0.prefixCacheHits }))
        } else {
            oldKVUsage = nil
        }
        if offloadBlocks != nil {
            // The tier is vLLM's external prefix cache (its KV connector's); block and byte
            // counts have no vLLM name and take the kv_offload_ prefix.
            let queries = counter("vllm:external_prefix_cache_queries",
                                  "External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.")
            let hits = counter("vllm:external_prefix_cache_hits",
                               "External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.")
            let stored = counter("vllm:kv_offload_blocks_stored", "KV blocks copied into the offloading tier.")
            let loaded = counter("vllm:kv_offload_blocks_loaded", "KV blocks loaded back from the offloading tier.")
            let bytes = counter("vllm:kv_offload_bytes", "Bytes moved between the KV cache and the offloading tier, both ways.")
            totals.append((queries, { (s: SchedulerStats) -> Int in s.offload?.queries ?? 0 }))
            totals.append((hits, { (s: SchedulerStats) -> Int in s.offload?.hits ?? 0 }))
            totals.append((stored, { (s: SchedulerStats) -> Int in s.offload?.blocksStored ?? 0 }))
            totals.append((loaded, { (s: SchedulerStats) -> Int in s.offload?.blocksLoaded ?? 0 }))
            totals.append((bytes, { (s: SchedulerStats) -> Int in ((s.offload?.blocksStored ?? 0) + (s.offload?.blocksLoaded ?? 0)) * blockBytes }))
            offloadUsage = gauge("vllm:kv_offload_usage_perc", "KV offloading tier usage. 1 means 100 percent usage.")
        } else {
            offloadUsage = nil
        }
        if let spec = args.speculativeConfig {
            totals.append((counter("vllm:spec_decode_num_drafts", "Number of spec decoding drafts."), { $0.specDecoding.numDrafts }))
            totals.append((counter("vllm:spec_decode_num_draft_tokens", "Number of draft tokens."), { $0.specDecoding.numDraftTokens }))
            totals.append((counter("vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens."), { $0.specDecoding.numAcceptedTokens }))
            for p in 0..<spec.numSpeculativeTokens {
                let c = counter("vllm:spec_decode_num_accepted_tokens_per_pos", "Accepted tokens per draft position.", [("position", String(p))])
                totals.append((c, { s in p < s.specDecoding.acceptedPerPosition.count ? s.specDecoding.acceptedPerPosition[p] : 0 }))
            }
        }
        self.totals = totals
        seen = Mutex(Array(repeating: 0, count: totals.count))
        promptTokens = counter("vllm:prompt_tokens", "Number of prefill tokens processed.")
        generationTokens = counter("vllm:generation_tokens", "Number of generation tokens processed.")
        var success: [String: Counter] = [:]
        for reason in ["stop", "length", "abort"] {
            success[reason] = counter("vllm:request_success", "Count of successfully processed requests.", [("finished_reason", reason)])
        }
        self.success = success
        let tokenBuckets = Self.oneTwoFive(upTo: maxModelLen)
        requestPromptTokens = values("vllm:request_prompt_tokens", "Number of prefill tokens processed.", tokenBuckets)
        requestGenerationTokens = values("vllm:request_generation_tokens", "Number of generation tokens processed.", tokenBuckets)
        maxGenerationTokens = values("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.", tokenBuckets)
        paramsN = values("vllm:request_params_n", "Histogram of the n request parameter.", [1, 2, 5, 10, 20])
        paramsMaxTokens = values("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", tokenBuckets)
        iterationTokens = values("vllm:iteration_tokens", "Histogram of number of tokens per engine_step.",
                                 Self.iterationBuckets(maxBatchedTokens: args.maxNumBatchedTokens), unit: "total")
        ttft = seconds("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                       [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560])
        let perToken = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]
        itl = seconds("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", perToken)
        tpot = seconds("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", perToken)
        let latency = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]
        e2e = seconds("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", latency)
        queueTime = seconds("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", latency)
        inferenceTime = seconds("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", latency)
        prefillTime = seconds("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", latency)
        decodeTime = seconds("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", latency)
    }

    /// vLLM's `build_1_2_5_buckets`: 1, 2, 5, 10, 20, 50, … up to `limit`.
    static func oneTwoFive(upTo limit: Int) -> [Int] {
        var out: [Int] = []
        var scale = 1
        while true {
            for m in [1, 2, 5] {
                let (v, overflow) = m.multipliedReportingOverflow(by: scale)
                if overflow || v > limit { return out }
                out.append(v)
            }
            scale *= 10
        }
    }

    /// Powers of two up to the step's token budget, and the budget itself.
    static func iterationBuckets(maxBatchedTokens: Int) -> [Int] {
        let powers = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384].filter { $0 < maxBatchedTokens }
        return powers + [maxBatchedTokens]
    }

    func recordPrompt(tokens: Int) { promptTokens.increment(by: Int64(tokens)) }
    func recordGenerated(tokens: Int) { if tokens > 0 { generationTokens.increment(by: Int64(tokens)) } }
    func recordFinished(reason: String) { success[reason]?.increment() }
    func recordStep(tokens: Int) { iterationTokens.record(Double(tokens)) }

    /// Sets the gauges and advances the counters to the scheduler's numbers.
    func update(_ stats: SchedulerStats) {
        running.set(Double(stats.numRunning))
        waiting.set(Double(stats.numWaiting))
        kvUsage.set(stats.kvUsage)
        oldKVUsage?.set(stats.kvUsage)
        if let o = stats.offload { offloadUsage?.set(Double(o.slotsUsed) / Double(max(1, o.slots))) }
        seen.withLock { seen in
            // Counters only grow: add what the scheduler counted since the last scrape.
            for (i, t) in totals.enumerated() {
                let now = t.total(stats)
                t.counter.increment(by: Int64(max(0, now - seen[i])))
                seen[i] = max(seen[i], now)
            }
        }
    }
}

/// Times one engine request for the latency histograms and counts its tokens.
struct RequestTimer {
    let metrics: EngineMetrics
    private let start = ContinuousClock.now
    private let params: SamplingParams
    private let promptTokens: Int
    private var last: ContinuousClock.Instant?
    private var tokens = 0
    /// The longest choice so far (vLLM's max generation tokens of a parent request).
    private var longest = 0
    private var finishReasons: [String] = []
    private var engineTimes: RequestMetrics?

    init(metrics: EngineMetrics, promptTokens: Int, params: SamplingParams) {
        self.metrics = metrics
        self.params = params
        self.promptTokens = promptTokens
        metrics.recordPrompt(tokens: promptTokens)
    }

    mutating func observe(_ out: RequestOutput) {
        engineTimes = out.metrics ?? engineTimes
        let total = out.outputs.reduce(0) { $0 + $1.tokenIDs.count }
        guard total > tokens else { return }
        let now = ContinuousClock.now
        if let last {
            metrics.itl.record(now - last)
            metrics.tpot.record(now - last)
        } else {
            metrics.ttft.record(now - start)
        }
        metrics.recordGenerated(tokens: total - tokens)
        last = now
        tokens = total
        longest = out.outputs.map(\.tokenIDs.count).max() ?? 0
        finishReasons = out.outputs.compactMap(\.finishReason)
    }

    /// The request ended (finished, or its stream closed early: an abort).
    func finish() {
        metrics.e2e.record(ContinuousClock.now - start)
        if finishReasons.isEmpty { metrics.recordFinished(reason: "abort") }
        for r in finishReasons { metrics.recordFinished(reason: r) }
        metrics.requestPromptTokens.record(Double(promptTokens))
        metrics.requestGenerationTokens.record(Double(tokens))
        metrics.maxGenerationTokens.record(Double(longest))
        metrics.paramsN.record(Double(params.n))
        metrics.paramsMaxTokens.record(Double(params.maxTokens))
        if let t = engineTimes, let scheduled = t.firstScheduledTime {
            metrics.queueTime.record(scheduled - t.arrivalTime)
            if let first = t.firstTokenTime, let lastToken = t.lastTokenTime {
                metrics.prefillTime.record(first - scheduled)
                metrics.decodeTime.record(lastToken - first)
                metrics.inferenceTime.record(lastToken - scheduled)
            }
        }
    }
}
