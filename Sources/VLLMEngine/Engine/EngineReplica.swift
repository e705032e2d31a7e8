import VLLMModels

/// One of `DataParallelLLM`'s replicas: an `AsyncLLM` in this process, or one that runs in
/// other processes of an MPI job and is reached through a proxy (`RemoteAsyncLLM`).
public protocol EngineReplica: AnyObject, Sendable {
    /// As `AsyncLLM.generate`: throws at once for a refused request.
    func generate(_ prompt: PromptInput, _ params: SamplingParams, requestID: String, priority: Int,
                  lora: LoRARequest?) throws -> AsyncThrowingStream<RequestOutput, Error>
    func abort(requestID: String)
    func isInFlight(_ id: String) -> Bool
    var requestsInFlight: Int { get }
    /// Scheduler counters as of the replica's last step.
    var stats: SchedulerStats { get }
    /// Registers an adapter: `adapter` is its files as this process read them, which a replica
    /// in another process reads again from its own host.
    func registerLoRAAdapter(_ request: LoRARequest, _ adapter: LoRAAdapter) async throws -> LoRAAdapterInfo
    func unloadLoRAAdapter(name: String) async throws
    var loraAdapters: [LoRAAdapterInfo] { get }
    func sleep(level: Int) async throws
    func wakeUp(_ tags: [AsyncLLM.SleepTag]?)
    var isSleeping: Bool { get }
    /// Called after each of the replica's steps that produced tokens, with their count.
    var onStep: (@Sendable (_ iterationTokens: Int) -> Void)? { get set }
    var maxWaitingRequests: Int? { get set }
    var isRunning: Bool { get }
    func shutdown()
}

extension AsyncLLM: EngineReplica {}
