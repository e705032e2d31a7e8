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
    /// Every worker's `sleep(level:)`.
    func sleep(level: Int)
}

extension Executor {
    public var adapterShapes: ModelConfig { modelConfig }
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
    public func sleep(level: Int) { worker.sleep(level: level) }

    /// The usual setup: one CPU worker running `model`.
    public convenience init(model: any CausalLM) {
        self.init(worker: CPUWorker(modelRunner: CPUModelRunner(model: model)))
    }
}
