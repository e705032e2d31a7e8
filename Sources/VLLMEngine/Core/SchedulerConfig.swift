/// Which waiting request is admitted first.
public enum SchedulingPolicy: Sendable, Equatable {
    /// First come, first served (arrival order).
    case fcfs
    /// Lowest `Request.priority` value first, then arrival order. Under memory pressure the
    /// running request with the highest priority value (latest arrival among equals) is
    /// preempted first.
    case priority
}

/// Limits of one scheduling step (vLLM's `SchedulerConfig` plus the cache settings the
/// scheduler needs).
public struct SchedulerConfig: Sendable, Equatable {
    /// Tokens computed per step across all requests. 2048 is vLLM's default for the
    /// OpenAI-compatible server on hardware without a tuned value (which includes CPUs); it
    /// bounds the latency a long prefill chunk adds to every running request's next token.
    public var maxNumBatchedTokens = 2048
    /// Requests in the running set at once (vLLM's default).
    public var maxNumSeqs = 256
    /// Prompt plus generated tokens a request may reach (the model's context length unless
    /// lowered).
    public var maxModelLen: Int
    /// Token slots per KV block (vLLM's default).
    public var blockSize = 16
    /// Let a prompt longer than the step's remaining budget run in chunks over several steps.
    /// Without it such a prompt waits for a step with room for all of it, so
    /// `maxNumBatchedTokens` must be at least `maxModelLen`.
    public var enableChunkedPrefill = true
    /// Most prompt tokens one request computes in a step (vLLM's `long_prefill_token_threshold`;
    /// 0: no limit, only the step's budget). A lower value spreads a long prompt over more steps,
    /// so the decodes sharing those steps wait less per token.
    public var longPrefillTokenThreshold = 0
    /// Reuse the KV of full blocks whose token prefix was computed before.
    public var enablePrefixCaching = true
    public var policy: SchedulingPolicy = .fcfs
    /// Distinct LoRA adapters among running requests at once (`--max-loras`); a waiting
    /// request with another adapter waits while that many are running. nil: no limit.
    public var maxLoras: Int?
    /// The attention window of each KV cache group (`KVCacheLayout.windows`; nil: full).
    public var kvCacheGroupWindows: [Int?] = [nil]
    /// Blocks the KV offloading tier holds (`--kv-offloading-size` over the block size); nil:
    /// no tier.
    public var kvOffloadingBlocks: Int?

    public init(maxNumBatchedTokens: Int = 2048, maxNumSeqs: Int = 256, maxModelLen: Int,
                blockSize: Int = 16, enableChunkedPrefill: Bool = true, longPrefillTokenThreshold: Int = 0,
                enablePrefixCaching: Bool = true, policy: SchedulingPolicy = .fcfs, maxLoras: Int? = nil,
                kvCacheGroupWindows: [Int?] = [nil]) {
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.maxNumSeqs = maxNumSeqs
        self.maxModelLen = maxModelLen
        self.blockSize = blockSize
        self.enableChunkedPrefill = enableChunkedPrefill
        self.longPrefillTokenThreshold = longPrefillTokenThreshold
        self.enablePrefixCaching = enablePrefixCaching
        self.policy = policy
        self.maxLoras = maxLoras
        self.kvCacheGroupWindows = kvCacheGroupWindows
    }

    /// Checks the combinations that would leave requests unschedulable.
    public func validate() throws(SchedulerError) {
        guard maxNumBatchedTokens >= 1 else { throw .invalidConfig("max_num_batched_tokens must be at least 1, got \(maxNumBatchedTokens)") }
        guard maxNumSeqs >= 1 else { throw .invalidConfig("max_num_seqs must be at least 1, got \(maxNumSeqs)") }
        guard maxModelLen >= 1 else { throw .invalidConfig("max_model_len must be at least 1, got \(maxModelLen)") }
        guard longPrefillTokenThreshold >= 0 else { throw .invalidConfig("long_prefill_token_threshold must be at least 0, got \(longPrefillTokenThreshold)") }
        if let m = maxLoras, m < 1 { throw .invalidConfig("max_loras must be at least 1, got \(m)") }
        guard blockSize >= 1 else { throw .invalidConfig("block_size must be at least 1, got \(blockSize)") }
        if let n = kvOffloadingBlocks {
            guard n >= 1 else { throw .invalidConfig("the KV offloading tier must hold at least one block, got \(n)") }
            guard enablePrefixCaching else { throw .invalidConfig("KV offloading needs prefix caching (it is keyed by block hashes)") }
            guard kvCacheGroupWindows == [nil] else {
                throw .invalidConfig("KV offloading needs one KV cache group of full attention; this model has sliding-window layers (use --disable-hybrid-kv-cache-manager)")
            }
        }
        if !enableChunkedPrefill && maxNumBatchedTokens < maxModelLen {
            throw .invalidConfig("without chunked prefill max_num_batched_tokens (\(maxNumBatchedTokens)) must be at least max_model_len (\(maxModelLen))")
        }
    }
}

public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    case invalidConfig(String)
    /// The request can never run; the message says why.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case let .invalidConfig(m), let .invalidRequest(m): m
        }
    }
}
