import VLLMModels

/// The unit an executor places on each device or process (vLLM's `Worker`): owns a model runner
/// and the device it runs on.
public protocol Worker: AnyObject, Sendable {
    var modelConfig: ModelConfig { get }
    var weightBytes: Int { get }
    func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock]
    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?)
    func removeRequests(_ ids: [String])
    func addLoRA(id: Int, adapter: LoRAAdapter)
    func removeLoRA(id: Int)
    func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput
    /// Steps it runs at once and their start (see `Executor.submitModel`).
    var maxConcurrentBatches: Int { get }
    func submitModel(_ output: SchedulerOutput) -> PendingStep
    /// vLLM's sleep mode: frees the KV cache's memory (its contents are discarded). The
    /// weights stay: on a CPU there is no faster memory to free them from.
    func sleep(level: Int)
}

/// What a worker drives (vLLM's `GPUModelRunner` / `CPUModelRunner`): turns a scheduler step
/// into a forward batch and samples.
public protocol ModelRunner: AnyObject, Sendable {
    var model: any CausalLM { get }
    func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock]
    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?)
    func removeRequests(_ ids: [String])
    func addLoRA(id: Int, adapter: LoRAAdapter)
    func removeLoRA(id: Int)
    func execute(_ output: SchedulerOutput) -> ModelRunnerOutput
    /// Starts a step, sampled when the returned step is waited for (in submission order).
    func submit(_ output: SchedulerOutput) -> PendingStep
    /// Frees the KV cache's memory pages (contents discarded).
    func releaseKVCacheMemory()
}

/// A worker on this process's CPU threads.
public final class CPUWorker: Worker, @unchecked Sendable {
    public let modelRunner: any ModelRunner
    public init(modelRunner: any ModelRunner) { self.modelRunner = modelRunner }
    public var modelConfig: ModelConfig { modelRunner.model.config }
    public var weightBytes: Int { modelRunner.model.weightBytes }
    public func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock] {
        try modelRunner.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype, offloading: offloading)
    }
    public func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?) {
        modelRunner.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID,
                               promptEmbeddings: promptEmbeddings)
    }
    public func removeRequests(_ ids: [String]) { modelRunner.removeRequests(ids) }
    public func addLoRA(id: Int, adapter: LoRAAdapter) { modelRunner.addLoRA(id: id, adapter: adapter) }
    public func removeLoRA(id: Int) { modelRunner.removeLoRA(id: id) }
    public func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput { modelRunner.execute(output) }
    public var maxConcurrentBatches: Int { (modelRunner.model as? any PipelinedCausalLM)?.pipelineDepth ?? 1 }
    public func submitModel(_ output: SchedulerOutput) -> PendingStep { modelRunner.submit(output) }
    public func sleep(level: Int) { modelRunner.releaseKVCacheMemory() }
}
