/// What the API server drives (vLLM's `EngineClient`): one `AsyncLLM`, or the replicas of
/// `DataParallelLLM` behind one front.
public protocol EngineClient: AnyObject, Sendable {
    /// The engine whose model, tokenizer and settings every replica shares (the first one's).
    var engine: LLMEngine { get }
    /// Submits a request to one replica; returns which (its metrics carry that replica's
    /// label) and the stream of its outputs, as `AsyncLLM.generate`.
    func submit(_ prompt: PromptInput, _ params: SamplingParams, requestID: String, priority: Int,
                lora: LoRARequest?) throws -> (replica: Int, outputs: AsyncThrowingStream<RequestOutput, Error>)
    func abort(requestID: String)
    func loadLoRAAdapter(_ request: LoRARequest) async throws -> LoRAAdapterInfo
    func unloadLoRAAdapter(name: String) async throws
    func sleep(level: Int) async throws
    func wakeUp(_ tags: [AsyncLLM.SleepTag]?)
    var isSleeping: Bool { get }
    var loraAdapters: [LoRAAdapterInfo] { get }
    /// Each replica's scheduler counters as of its last step, in replica order.
    var replicaStats: [SchedulerStats] { get }
    /// Requests submitted and not yet finished or aborted, over every replica (counted at once,
    /// unlike `replicaStats`, which a step still running has not updated).
    var requestsInFlight: Int { get }
    /// `observer` is called on a replica's engine thread after each of its steps that produced
    /// tokens, with the replica and the step's iteration tokens.
    func observeSteps(_ observer: @escaping @Sendable (_ replica: Int, _ iterationTokens: Int) -> Void)
    /// Per replica: new requests are refused while this many are waiting (nil: no limit).
    var maxWaitingRequests: Int? { get set }
    var isRunning: Bool { get }
    func shutdown()
}

extension AsyncLLM: EngineClient {
    public func submit(_ prompt: PromptInput, _ params: SamplingParams, requestID: String, priority: Int,
                       lora: LoRARequest?) throws -> (replica: Int, outputs: AsyncThrowingStream<RequestOutput, Error>) {
        (0, try generate(prompt, params, requestID: requestID, priority: priority, lora: lora))
    }

    public var replicaStats: [SchedulerStats] { [stats] }

    public func observeSteps(_ observer: @escaping @Sendable (_ replica: Int, _ iterationTokens: Int) -> Void) {
        onStep = { observer(0, $0) }
    }
}
