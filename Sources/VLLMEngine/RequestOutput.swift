/// One generated sequence of a request (vLLM's `CompletionOutput`).
public struct CompletionOutput: Sendable {
    public var index: Int
    public var text: String
    public var tokenIDs: [Int]
    /// One entry per generated token, when logprobs were requested.
    public var logprobs: [StepLogprobs]?
    /// "stop" (EOS) or "length" (max_tokens); nil while unfinished.
    public var finishReason: String?
}

/// The result of one request (vLLM's `RequestOutput`).
public struct RequestOutput: Sendable {
    public var promptTokenIDs: [Int]
    public var outputs: [CompletionOutput]
    public var finished: Bool { outputs.allSatisfy { $0.finishReason != nil } }
}
