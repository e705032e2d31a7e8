import Dispatch
import VLLMModels

/// Where the engine core sends each step (vLLM's `Executor`). It is handed to `LLMEngine` built;
/// tensor- and pipeline-parallel or other-device executors implement it over their workers
/// without the scheduler noticing.
public protocol Executor: AnyObject, Sendable {
    /// The model's shape (the KV cache and the input processor size themselves by it).
    var modelConfig: ModelConfig { get }
    /// The whole model's shape, which LoRA adapters are read against (a tensor-parallel
    /// executor's `modelConfig` is its first rank's part).
    var adapterShapes: ModelConfig { get }
    /// Bytes the model's weights take, for the KV-cache memory budget.
    var weightBytes: Int { get }
    /// Allocates every worker's KV cache (vLLM's `initialize_from_config`), and its KV
    /// offloading tier when given, once, before the first step. Returns the blocks a persistent
    /// tier kept from before (least recently used first).
    func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock]
    /// Registers a request's sampling state: parameters, prompt (for penalties) and EOS (for
    /// min_tokens), and its prompt embeddings when it was given as those.
    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?)
    func removeRequests(_ ids: [String])
    /// Makes a LoRA adapter available under engine adapter id `id` on every worker.
    func addLoRA(id: Int, adapter: LoRAAdapter)
    func removeLoRA(id: Int)
    func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput
    /// Steps the executor runs at once (vLLM's `max_concurrent_batches`): a pipeline's stages.
    var maxConcurrentBatches: Int { get }
    /// Starts a step; its result comes from the returned step's `wait()`, in submission order.
    func submitModel(_ output: SchedulerOutput) -> PendingStep
    /// Every worker's `sleep(level:)`.
    func sleep(level: Int)
}

extension Executor {
    public var adapterShapes: ModelConfig { modelConfig }
    public var maxConcurrentBatches: Int { 1 }
    public func submitModel(_ output: SchedulerOutput) -> PendingStep { PendingStep(result: executeModel(output)) }
}

/// The result of a step that was started: computed on a worker queue (async scheduling), or
/// collected when waited for (a pipeline's last stage sends it), or already there.
public final class PendingStep: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: ModelRunnerOutput?
    private var collect: (() -> ModelRunnerOutput)?

    init() {}

    public init(result: ModelRunnerOutput) {
        self.result = result
        done.signal()
    }

    /// A step whose result `collect` gives on the waiting thread.
    public init(collect: @escaping () -> ModelRunnerOutput) { self.collect = collect }

    func fulfil(_ r: ModelRunnerOutput) {
        result = r
        done.signal()
    }

    /// Blocks until the step has run; once.
    public func wait() -> ModelRunnerOutput {
        if let collect {
            self.collect = nil
            return collect()
        }
        done.wait()
        return result!
    }
}

/// One worker in this process.
public final class UniProcExecutor: Executor, @unchecked Sendable {
    public let worker: any Worker
    public init(worker: any Worker) { self.worker = worker }
    public var modelConfig: ModelConfig { worker.modelConfig }
    public var weightBytes: Int { worker.weightBytes }
    public func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock] {
        try worker.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype, offloading: offloading)
    }
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?) {
        worker.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID,
                          promptEmbeddings: promptEmbeddings)
    }
    public func removeRequests(_ ids: [String]) { worker.removeRequests(ids) }
    public func addLoRA(id: Int, adapter: LoRAAdapter) { worker.addLoRA(id: id, adapter: adapter) }
    public func removeLoRA(id: Int) { worker.removeLoRA(id: id) }
    public func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput { worker.executeModel(output) }
    public var maxConcurrentBatches: Int { worker.maxConcurrentBatches }
    public func submitModel(_ output: SchedulerOutput) -> PendingStep { worker.submitModel(output) }
    public func sleep(level: Int) { worker.sleep(level: level) }

    /// The usual setup: one CPU worker running `model`.
    public convenience init(model: any CausalLM) {
        self.init(worker: CPUWorker(modelRunner: CPUModelRunner(model: model)))
    }
}
