import ArgumentParser
import VLLM

/// The engine flags every model command accepts, with vLLM's names and meanings.
public struct EngineOptions: ParsableArguments {
    public init() {}

    @OptionGroup public var modelOptions: ModelOptions

    @Option(name: [.customLong("tensor-parallel-size"), .customLong("tp", withSingleDash: true)],
            help: "Ranks to split each layer over (one process each, under Open MPI's mpirun: started for you unless mpirun started this process).")
    public var tensorParallelSize = 1

    @Option(name: [.customLong("pipeline-parallel-size"), .customLong("pp", withSingleDash: true)],
            help: "Pipeline stages to split the layers over (each stage --tensor-parallel-size ranks; one process per rank under Open MPI's mpirun).")
    public var pipelineParallelSize = 1

    @Option(name: [.customLong("data-parallel-size"), .customLong("dp", withSingleDash: true)],
            help: "Engine replicas behind the one server (serve, run-batch): each its own scheduler, KV cache and share of the cores, over weights loaded once.")
    public var dataParallelSize = 1

    @Option(help: "Token slots per KV cache block.")
    public var blockSize = 16

    @Option(help: "Fraction of system memory the engine may use (weights + KV cache).")
    public var gpuMemoryUtilization: Double?

    @Option(help: "KV cache size in bytes (suffixes K, M, G, KiB, MiB, GiB accepted).")
    public var kvCacheMemory: String?

    @Option(help: "Use exactly this many KV cache blocks.")
    public var numGpuBlocksOverride: Int?

    @Option(help: "Longest prompt + output a request may have (default: the model's context length).")
    public var maxModelLen: Int?

    @Option(help: "Tokens computed per engine step across all requests.")
    public var maxNumBatchedTokens = 2048

    @Option(help: "Requests running at once.")
    public var maxNumSeqs = 256

    @Flag(inversion: .prefixedNo, help: "Split long prompts over several steps.")
    public var enableChunkedPrefill = true

    @Option(help: "Most prompt tokens one request computes per step (0: no limit); lower keeps decodes moving while long prompts prefill.")
    public var longPrefillTokenThreshold = 0

    @Flag(inversion: .prefixedNo, help: "Reuse the KV cache of shared prompt prefixes.")
    public var enablePrefixCaching = true

    @Option(help: "fcfs or priority.")
    public var schedulingPolicy = "fcfs"

    @Option(help: "KV cache element type: auto (float16), float16 or float32.")
    public var kvCacheDtype = "auto"

    @Option(help: "Activations in the matmuls: float32 (the default: two int8 terms, within 1e-5 nats of an exact forward pass), int8 (opt-in: one term; faster, within 1e-3) or exact (fp32 throughout; slowest).")
    public var activationDtype = "float32"

    @Flag(help: "Serve LoRA adapters.")
    public var enableLora = false

    @Flag(help: "Accept prompts given as embeddings (the completions API's prompt_embeds).")
    public var enablePromptEmbeds = false

    @Flag(help: "Keep every layer's KV for every position, even behind a sliding window (one KV cache group of all layers).")
    public var disableHybridKvCacheManager = false

    @Option(help: "The KV offloading tier, used with --kv-offloading-size: native (host memory outside the KV cache's budget) or disk (a file in --kv-offloading-path, reused after a restart).")
    public var kvOffloadingBackend = "native"

    @Flag(help: "Schedule each step while the previous one computes, hiding the scheduler's and output processing's time (exact: every feature sees the real tokens).")
    public var asyncScheduling = false

    @Option(help: "Speculative decoding, as a JSON object: {\"method\": \"ngram\", \"num_speculative_tokens\": K, \"prompt_lookup_max\": N, \"prompt_lookup_min\": M} proposes the continuation of an earlier occurrence of the last N..M tokens, {\"model\": DRAFT, \"num_speculative_tokens\": K} the greedy tokens of a draft model with the same tokenizer (e.g. a 4-bit GGUF of this model); the model verifies K proposed tokens per step, exactly (the output is what it would be without). Optional \"disable_by_batch_size\" (default 4 for ngram, 2 for a draft model): no proposals while more requests run.")
    public var speculativeConfig: String?

    @Option(help: "The directory of the disk KV offloading tier (--kv-offloading-backend disk).")
    public var kvOffloadingPath: String?

    @Option(help: "GiB of KV offloading tier: prefix-cache blocks evicted from the KV cache are kept there and loaded back on a later hit (off when not given).")
    public var kvOffloadingSize: Double?

    @Option(help: "Largest LoRA rank accepted.")
    public var maxLoraRank = 16

    @Option(help: "Distinct LoRA adapters in one batch.")
    public var maxLoras = 1

    @Option(help: "LoRA adapters kept loaded (default: --max-loras).")
    public var maxCpuLoras: Int?

    @Option(parsing: .upToNextOption, help: "LoRA adapters to load at start: name=path (several, space- or comma-separated) or {\"name\": ..., \"path\": ..., \"base_model_name\": ...}.")
    public var loraModules: [String] = []

    public func validate() throws {
        do { _ = try engineArgs; try engineArgs.validate() } catch { throw ValidationError("\(error)") }
    }

    public var engineArgs: EngineArgs {
        get throws {
            var a = EngineArgs()
            a.threads = modelOptions.threads
            a.tensorParallelSize = tensorParallelSize
            a.pipelineParallelSize = pipelineParallelSize
            a.dataParallelSize = dataParallelSize
            a.dtype = ModelDType(vllmName: modelOptions.dtype) ?? .auto
            a.tokenizer = modelOptions.tokenizer
            a.revision = modelOptions.revision
            a.generationConfig = modelOptions.generationConfig
            a.blockSize = blockSize
            a.gpuMemoryUtilization = gpuMemoryUtilization
            a.kvCacheMemory = try kvCacheMemory.map(Self.parseBytes)
            a.numGpuBlocksOverride = numGpuBlocksOverride
            a.maxModelLen = maxModelLen
            a.maxNumBatchedTokens = maxNumBatchedTokens
            a.maxNumSeqs = maxNumSeqs
            a.enableChunkedPrefill = enableChunkedPrefill
            a.longPrefillTokenThreshold = longPrefillTokenThreshold
            a.enablePrefixCaching = enablePrefixCaching
            switch schedulingPolicy {
            case "fcfs": a.schedulingPolicy = .fcfs
            case "priority": a.schedulingPolicy = .priority
            default: throw ValidationError("--scheduling-policy must be fcfs or priority, got \(schedulingPolicy)")
            }
            a.enableLoRA = enableLora
            a.enablePromptEmbeds = enablePromptEmbeds
            a.disableHybridKVCacheManager = disableHybridKvCacheManager
            a.kvOffloadingBackend = kvOffloadingBackend
            a.kvOffloadingSize = kvOffloadingSize
            a.kvOffloadingPath = kvOffloadingPath
            a.asyncScheduling = asyncScheduling
            a.speculativeConfig = try speculativeConfig.map { json throws(EngineArgsError) in try SpeculativeConfig.parse(json: json) }
            a.maxLoraRank = maxLoraRank
            a.maxLoras = maxLoras
            a.maxCPULoras = maxCpuLoras
            a.loraModules = try LoRAModule.parseList(loraModules)
            a.kvCacheDtype = try Self.kvCacheDType(kvCacheDtype)
            guard let act = ActivationPrecision(rawValue: activationDtype) else {
                throw ValidationError("--activation-dtype must be float32, int8 or exact, got \(activationDtype)")
            }
            a.activationDtype = act
            return a
        }
    }

    public static func parseBytes(_ s: String) throws -> Int {
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("B", 1)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            if let v = Double(s.dropLast(suffix.count)), v > 0 { return Int(v * scale) }
        }
        if let v = Int(s), v > 0 { return v }
        throw ValidationError("--kv-cache-memory must be a positive size like 1073741824 or 1GiB, got \(s)")
    }

    /// `model` and `--tokenizer` as local paths (hub repo ids found in the cache or downloaded),
    /// with the engine settings: for the async commands, whose threads must not block on a
    /// download.
    public func resolved(_ model: String?) async throws -> (model: String?, args: EngineArgs) {
        var args = try engineArgs
        try TensorParallelGroup.relaunchUnderMPI(size: TensorParallelGroup.worldSize(args))
        let locator = ModelLocator()
        var path: String?
        if let model { path = try await locator.locate(model, revision: args.revision).path }
        if let t = args.tokenizer { args.tokenizer = try await locator.locate(t).path }
        return (path, args)
    }

    public func loadLLM() throws -> LLM {
        try refuseDataParallelism()
        try TensorParallelGroup.relaunchUnderMPI(size: tensorParallelSize * pipelineParallelSize)
        return try LLM(model: modelOptions.model, args: engineArgs)
    }

    /// Replicas serve concurrent requests: the offline commands run one engine.
    private func refuseDataParallelism() throws {
        guard dataParallelSize == 1 else {
            throw ValidationError("--data-parallel-size applies to the serving commands (serve, run-batch); this one runs one engine")
        }
    }

    /// The `LoRARequest` for a `--lora-modules` name (as the server resolves the `model` field).
    public func loraRequest(named name: String) throws -> LoRARequest {
        let modules = try engineArgs.loraModules
        guard let i = modules.firstIndex(where: { $0.name == name }) else {
            throw ValidationError("LoRA adapter '\(name)' is not among --lora-modules (\(modules.map(\.name).joined(separator: ", ")))")
        }
        return LoRARequest(loraName: name, loraIntId: i + 1, loraPath: modules[i].path, baseModelName: modules[i].baseModelName)
    }

    /// The model alone, for benchmarks that drive it without the engine.
    public func loadModel() throws -> LoadedModel {
        try refuseDataParallelism()
        guard tensorParallelSize == 1 && pipelineParallelSize == 1 else {
            throw ValidationError("--tensor-parallel-size and --pipeline-parallel-size apply to the engine's commands (serve, run-batch, generate, bench throughput); this one drives the model alone")
        }
        return try LoadedModel(path: modelOptions.model, args: engineArgs)
    }

    /// `--kv-cache-dtype`: auto (the engine's default), float16 or float32.
    public static func kvCacheDType(_ value: String) throws -> KVCacheDType {
        if value == "auto" { return EngineArgs().kvCacheDtype }
        guard let dtype = KVCacheDType(rawValue: value) else {
            throw ValidationError("--kv-cache-dtype must be auto, float16 or float32, got \(value)")
        }
        return dtype
    }
}
