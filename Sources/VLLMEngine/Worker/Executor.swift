import VLLMModels

/// Runs a model runner (vLLM's `Worker`): the unit a multi-process executor will place on each
/// device or process.
public final class Worker: @unchecked Sendable {
    public let modelRunner: ModelRunner
    public init(modelRunner: ModelRunner) { self.modelRunner = modelRunner }
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?) {
        modelRunner.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID)
    }
    public func removeRequests(_ ids: [String]) { modelRunner.removeRequests(ids) }
    public func addLoRA(id: Int, adapter: LoRAAdapter) { modelRunner.addLoRA(id: id, adapter: adapter) }
    public func removeLoRA(id: Int) { modelRunner.removeLoRA(id: id) }
    public func executeModel(_ output: SchedulerOutput) -> [String: SampledToken] { modelRunner.execute(output) }
}

/// Where the engine core sends each step (vLLM's `Executor`). Tensor- and pipeline-parallel
/// executors will implement it over several workers without the scheduler noticing.
public protocol Executor: AnyObject, Sendable {
    /// Registers a request's sampling state: parameters, prompt (for penalties) and EOS (for
    /// min_tokens).
    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?)
    func removeRequests(_ ids: [String])
    /// Makes a LoRA adapter available under engine adapter id `id` on every worker.
    func addLoRA(id: Int, adapter: LoRAAdapter)
    func removeLoRA(id: Int)
    func executeModel(_ output: SchedulerOutput) -> [String: SampledToken]
}

/// One worker in this process.
public final class UniProcExecutor: Executor, @unchecked Sendable {
    public let worker: Worker
    public init(worker: Worker) { self.worker = worker }
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?) {
        worker.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID)
    }
    public func removeRequests(_ ids: [String]) { worker.removeRequests(ids) }
    public func addLoRA(id: Int, adapter: LoRAAdapter) { worker.addLoRA(id: id, adapter: adapter) }
    public func removeLoRA(id: Int) { worker.removeLoRA(id: id) }
    public func executeModel(_ output: SchedulerOutput) -> [String: SampledToken] { worker.executeModel(output) }
}
