import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VLLMCompute
import VLLMModels

/// Engine settings, with vLLM's flag names and meanings (`--block-size`, `--max-model-len`, …).
public struct EngineArgs: Sendable, Equatable {
    public var threads: Int?
    /// `--tensor-parallel-size`: ranks (processes) each layer is split over.
    public var tensorParallelSize = 1
    /// Pipeline stages (each `tensorParallelSize` ranks), one process per rank under MPI.
    public var pipelineParallelSize = 1
    /// Engine replicas (`--data-parallel-size`), served by `DataParallelLLM`.
    public var dataParallelSize = 1
    /// Which replica an engine is (vLLM's `data_parallel_rank`): each keeps a disk KV offloading
    /// tier of its own.
    public var dataParallelRank = 0
    /// Token slots per KV block.
    public var blockSize = 16
    /// Fraction of system memory the engine may use (weights + KV cache), as vLLM's
    /// `--gpu-memory-utilization` on a device; nil: size the KV cache by `kvCacheMemory` or the
    /// CPU default.
    public var gpuMemoryUtilization: Double?
    /// KV cache size in bytes (`--kv-cache-memory`).
    public var kvCacheMemory: Int?
    /// Fixed number of KV blocks (`--num-gpu-blocks-override`).
    public var numGpuBlocksOverride: Int?
    /// Prompt + output limit per request; nil: the model's context length.
    public var maxModelLen: Int?
    public var maxNumBatchedTokens = 2048
    public var maxNumSeqs = 256
    public var enableChunkedPrefill = true
    /// Most prompt tokens one request computes per step (`--long-prefill-token-threshold`; 0: no limit).
    public var longPrefillTokenThreshold = 0
    public var enablePrefixCaching = true
    public var schedulingPolicy: SchedulingPolicy = .fcfs
    /// KV cache element type (`--kv-cache-dtype`). vLLM's `auto` means the model's dtype, which
    /// for vLLM on CPU is a 16-bit float; ours is fp16 (what llama.cpp keeps its cache in too).
    public var kvCacheDtype: KVCacheDType = .float16
    /// Activations in the matmuls (`--activation-dtype`): exact fp32 by default, int8 as an
    /// opt-in speed mode.
    public var activationDtype: ActivationPrecision = .float32
    /// Serve LoRA adapters (`--enable-lora`).
    public var enableLoRA = false
    /// Largest adapter rank accepted (`--max-lora-rank`, vLLM's default 16).
    public var maxLoraRank = 16
    /// Distinct adapters in one batch (`--max-loras`, default 1).
    public var maxLoras = 1
    /// Adapters kept loaded (`--max-cpu-loras`); nil: `maxLoras`.
    public var maxCPULoras: Int?
    /// Adapters loaded at start (`--lora-modules`).
    public var loraModules: [LoRAModule] = []
    /// Weight dtype (`--dtype`): auto keeps what the checkpoint stores.
    public var dtype: ModelDType = .auto
    /// Where the tokenizer comes from (`--tokenizer`: a directory, a hub repo id or a GGUF);
    /// nil: the model's own.
    public var tokenizer: String?
    /// Hub revision of the model (`--revision`: branch, tag or commit); nil: main.
    public var revision: String?
    /// Default sampling parameters (`--generation-config`): "auto" reads the model's
    /// generation_config.json, "vllm" uses vLLM's defaults, anything else is a directory holding
    /// a generation_config.json.
    public var generationConfig = "auto"
    /// Accept prompts given as embeddings (`--enable-prompt-embeds`).
    public var enablePromptEmbeds = false
    /// Keep every layer's KV for every position even where a sliding window will never read it
    /// again (`--disable-hybrid-kv-cache-manager`): one KV cache group of all layers.
    public var disableHybridKVCacheManager = false
    /// Where prefix-cache blocks evicted from the KV cache go (`--kv-offloading-backend`):
    /// "native", host memory outside the KV cache's budget, or "disk", a file in
    /// `kvOffloadingPath` that a restarted server reuses.
    public var kvOffloadingBackend = "native"
    /// The directory of the disk tier (`--kv-offloading-path`).
    public var kvOffloadingPath: String?
    /// GiB of that tier (`--kv-offloading-size`); nil: no tier.
    public var kvOffloadingSize: Double?
    /// Schedule each step while the previous one computes (`--async-scheduling`).
    public var asyncScheduling = false
    /// Speculative decoding (`--speculative-config`); nil: off.
    public var speculativeConfig: SpeculativeConfig?
    /// The model reasons between `<think>` and `</think>` (`--reasoning-parser deepseek_r1|qwen3`):
    /// a request's structured-output constraint applies once its reasoning has ended.
    public var reasoningParser: String?
    public static let reasoningParsers = ["deepseek_r1", "qwen3"]
    /// vLLM's engine `seed`: requests that bring no seed of their own draw from a stream made
    /// from it, so a run repeats exactly with the same requests in the same order (nil: unseeded).
    public var seed: UInt64?
    /// vLLM's `--load-format dummy`: the model's shapes, tokenizer and settings with every weight
    /// zero (GGUF files), for testing everything but the numbers without reading the weights.
    public var dummyWeights = false
    /// vLLM's `--load-format sharded_state`: the model is a directory `vllm save-sharded-state`
    /// wrote, and each tensor-parallel rank maps only its own file.
    public var shardedState = false

    public init() {}

    /// Tokens the model runs through its layers at once: a step's batch, capped so the
    /// activation buffers stay small (larger steps run in several chunks).
    public var forwardChunkTokens: Int { min(maxNumBatchedTokens, 512) }

    /// vLLM CPU's default KV space: `VLLM_CPU_KVCACHE_SPACE` GiB, or 4 GiB.
    static var defaultKVCacheBytes: Int {
        if let s = getenv("VLLM_CPU_KVCACHE_SPACE"), let gib = Double(String(cString: s)), gib > 0 {
            return Int(gib * 1_073_741_824)
        }
        return 4 * 1_073_741_824
    }

    static var systemMemoryBytes: Int { Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))) }

    /// How these settings group `config`'s layers in the KV cache.
    public func kvCacheLayout(config: ModelConfig) -> KVCacheLayout {
        KVCacheLayout(config: config, hybrid: !disableHybridKVCacheManager)
    }

    /// Blocks the KV offloading tier holds (nil: no tier), for blocks of `blockBytes`.
    public func numOffloadingBlocks(blockBytes: Int) throws(EngineArgsError) -> Int? {
        guard let g = kvOffloadingSize else { return nil }
        let n = Int(g * 1_073_741_824) / blockBytes
        guard n > 0 else { throw .invalid("--kv-offloading-size \(g) GiB holds no KV block of \(blockBytes) bytes") }
        return n
    }

    /// The number of KV blocks these settings give for `config`, with `weightBytes` of weights.
    /// A draft model's KV has as many blocks as the model's (DraftModelProposer), so each block
    /// costs both models' bytes and the budget is shared, as in vLLM; its weights count with the
    /// model's.
    public func numKVBlocks(config: ModelConfig, weightBytes: Int, draft: (any CausalLM)? = nil) throws(EngineArgsError) -> Int {
        let perBlock = kvBlockBytes(config: config)
            + (draft.map { DraftModelProposer.bytesPerBlock($0, blockSize: blockSize, dtype: kvCacheDtype) } ?? 0)
        let weightBytes = weightBytes + (draft?.weightBytes ?? 0)
        if let n = numGpuBlocksOverride {
            guard n > 0 else { throw .invalid("--num-gpu-blocks-override must be positive, got \(n)") }
            return n
        }
        func gib(_ b: Int) -> String { String(format: "%.1f GiB", Double(b) / 1_073_741_824) }
        let bytes: Int
        if let b = kvCacheMemory {
            bytes = b
        } else if let u = gpuMemoryUtilization {
            guard u > 0, u <= 1 else { throw .invalid("--gpu-memory-utilization must be in (0, 1], got \(u)") }
            bytes = Int(u * Double(Self.systemMemoryBytes)) - weightBytes
            guard bytes > 0 else {
                throw .invalid("the model's weights (\(gib(weightBytes))) take all of --gpu-memory-utilization \(u) of this machine's \(gib(Self.systemMemoryBytes)); raise it or set --kv-cache-memory")
            }
        } else {
            // vLLM CPU's 4 GiB, unless that and the weights would pass 90% of the machine's memory
            // (a 12 GiB model on a 16 GiB machine): then what is left below that line.
            let room = Int(0.9 * Double(Self.systemMemoryBytes)) - weightBytes
            guard room >= perBlock else {
                throw .invalid("the model's weights (\(gib(weightBytes))) leave no room for a KV cache in 90% of this machine's \(gib(Self.systemMemoryBytes)) of memory; set --kv-cache-memory to run anyway")
            }
            bytes = min(Self.defaultKVCacheBytes, room)
        }
        let n = bytes / perBlock
        guard n > 0 else {
            throw .invalid("the KV cache budget (\(bytes) bytes) holds no block of \(perBlock) bytes; raise --kv-cache-memory or --gpu-memory-utilization")
        }
        return n
    }

    /// Bytes of one KV cache block of a model with `config`.
    public func kvBlockBytes(config: ModelConfig) -> Int {
        PagedKVCache.bytesPerBlock(config: config, layout: kvCacheLayout(config: config), blockSize: blockSize, dtype: kvCacheDtype)
    }

    public func validate() throws(EngineArgsError) {
        guard blockSize > 0 else { throw .invalid("--block-size must be positive, got \(blockSize)") }
        guard maxNumBatchedTokens > 0 else { throw .invalid("--max-num-batched-tokens must be positive") }
        guard longPrefillTokenThreshold >= 0 else { throw .invalid("--long-prefill-token-threshold must be 0 (no limit) or positive, got \(longPrefillTokenThreshold)") }
        guard maxNumSeqs > 0 else { throw .invalid("--max-num-seqs must be positive") }
        if let t = threads, t < 1 { throw .invalid("--threads must be at least 1, got \(t)") }
        guard tensorParallelSize >= 1 else { throw .invalid("--tensor-parallel-size must be at least 1, got \(tensorParallelSize)") }
        guard dataParallelSize >= 1 else { throw .invalid("--data-parallel-size must be at least 1, got \(dataParallelSize)") }
        guard pipelineParallelSize >= 1 else { throw .invalid("--pipeline-parallel-size must be at least 1, got \(pipelineParallelSize)") }
        if pipelineParallelSize > 1 {
            if asyncScheduling { throw .invalid("--async-scheduling with --pipeline-parallel-size above 1 is not supported yet (the stages already overlap steps)") }
            if speculativeConfig != nil { throw .invalid("--speculative-config with --pipeline-parallel-size above 1 is not supported yet") }
        }
        if let m = maxModelLen, m < 1 { throw .invalid("--max-model-len must be positive, got \(m)") }
        if let b = kvCacheMemory, b < 1 { throw .invalid("--kv-cache-memory must be positive, got \(b)") }
        guard maxLoraRank >= 1 else { throw .invalid("--max-lora-rank must be positive, got \(maxLoraRank)") }
        guard maxLoras >= 1 else { throw .invalid("--max-loras must be at least 1, got \(maxLoras)") }
        if let c = maxCPULoras, c < maxLoras {
            throw .invalid("--max-cpu-loras (\(c)) must be at least --max-loras (\(maxLoras))")
        }
        if !enableLoRA && !loraModules.isEmpty { throw .invalid("--lora-modules needs --enable-lora") }
        if let g = kvOffloadingSize {
            guard g > 0, g.isFinite else { throw .invalid("--kv-offloading-size must be a positive number of GiB, got \(g)") }
            guard ["native", "disk"].contains(kvOffloadingBackend) else {
                throw .invalid("--kv-offloading-backend must be native or disk, got \(kvOffloadingBackend)")
            }
            if kvOffloadingBackend == "disk" && (kvOffloadingPath ?? "").isEmpty {
                throw .invalid("--kv-offloading-backend disk needs --kv-offloading-path DIR")
            }
            guard enablePrefixCaching else { throw .invalid("--kv-offloading-size needs prefix caching (it keeps evicted prefix-cache blocks)") }
        }
        if kvOffloadingPath != nil && (kvOffloadingBackend != "disk" || kvOffloadingSize == nil) {
            throw .invalid("--kv-offloading-path is for --kv-offloading-backend disk with --kv-offloading-size")
        }
        if let r = reasoningParser, !Self.reasoningParsers.contains(r) {
            throw .invalid("unknown --reasoning-parser \(r); known: \(Self.reasoningParsers.joined(separator: ", "))")
        }
        var names = Set<String>()
        for m in loraModules where !names.insert(m.name).inserted {
            throw .invalid("--lora-modules names '\(m.name)' twice")
        }
        if loraModules.count > maxCPULoras ?? maxLoras {
            throw .invalid("--lora-modules lists \(loraModules.count) adapters but --max-cpu-loras allows \(maxCPULoras ?? maxLoras) loaded at once")
        }
    }
}

public enum EngineArgsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { m } else { "" } }
}
