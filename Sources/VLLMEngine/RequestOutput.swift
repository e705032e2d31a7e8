/// One generated sequence of a request (vLLM's `CompletionOutput`).
public struct CompletionOutput: Sendable {
    public var index: Int
    public var text: String
    public var tokenIDs: [Int]
    /// One entry per generated token, when logprobs were requested.
    public var logprobs: [StepLogprobs]?
    /// With `logprobs`, from the engine's sampler: each generated token's rank among all tokens
    /// (1 = the most likely). Nil for beam search, which ranks beams, not tokens.
    public var logprobRanks: [Int]?
    /// Sum of the raw logprobs of `tokenIDs` (vLLM's `cumulative_logprob`).
    public var cumulativeLogprob: Double?
    /// "stop" (EOS, a stop token or string), "length" (max_tokens) or "abort"; nil while running.
    public var finishReason: String?
    /// The stop string or stop token id that ended it, if any.
    public var stopReason: String?

    public init(index: Int, text: String = "", tokenIDs: [Int] = [], logprobs: [StepLogprobs]? = nil,
                logprobRanks: [Int]? = nil, finishReason: String? = nil, stopReason: String? = nil, cumulativeLogprob: Double? = nil) {
        self.cumulativeLogprob = cumulativeLogprob
        self.index = index
        self.text = text
        self.tokenIDs = tokenIDs
        self.logprobs = logprobs
        self.logprobRanks = logprobRanks
        self.finishReason = finishReason
        self.stopReason = stopReason
    }
}

/// When a request reached the engine's milestones (vLLM's `RequestMetrics`), for the
/// server's latency histograms: queue time is first scheduling minus arrival, prefill ends at
/// the first token, decode runs from the first token to the last.
public struct RequestMetrics: Sendable {
    public var arrivalTime: ContinuousClock.Instant
    public var firstScheduledTime: ContinuousClock.Instant?
    public var firstTokenTime: ContinuousClock.Instant?
    public var lastTokenTime: ContinuousClock.Instant?

    public init(arrivalTime: ContinuousClock.Instant) { self.arrivalTime = arrivalTime }
}

/// The result of one request so far (vLLM's `RequestOutput`).
public struct RequestOutput: Sendable {
    public var requestID: String
    public var promptTokenIDs: [Int]
    /// When asked for (`promptLogprobs`): per prompt token, nil for the first (nothing predicts
    /// it), then the token's raw logprob followed by the top alternatives, as vLLM reports.
    public var promptLogprobs: [StepLogprobs?]?
    /// With `promptLogprobs`: each prompt token's rank among all tokens by logprob (1 = the
    /// most likely; nil for the first token).
    public var promptLogprobRanks: [Int?]?
    public var outputs: [CompletionOutput]
    /// Milestone times (nil for beam searches).
    public var metrics: RequestMetrics?
    /// Prompt tokens the prefix cache supplied when the request was first scheduled (vLLM's
    /// `num_cached_tokens`); nil before its first token and for beam searches.
    public var numCachedTokens: Int?
    public var finished: Bool { outputs.allSatisfy { $0.finishReason != nil } }

    public init(requestID: String = "", promptTokenIDs: [Int], promptLogprobs: [StepLogprobs?]? = nil,
                promptLogprobRanks: [Int?]? = nil, outputs: [CompletionOutput], metrics: RequestMetrics? = nil,
                numCachedTokens: Int? = nil) {
        self.metrics = metrics
        self.numCachedTokens = numCachedTokens
        self.promptLogprobs = promptLogprobs
        self.promptLogprobRanks = promptLogprobRanks
        self.requestID = requestID
        self.promptTokenIDs = promptTokenIDs
        self.outputs = outputs
    }
}
