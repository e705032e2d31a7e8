import VLLMEngine
import VLLMModels

/// The executor of a tensor- or pipeline-parallel engine (vLLM's `MultiProcExecutor`, over MPI ranks): the
/// driver worker on rank 0 runs the model runner and samples; the other ranks follow rank 0's
/// messages: the KV cache's shape once, each step's offloading-tier copies, block copies and
/// forward delta (sent by `TensorParallelModel` from inside the runner's forward), sleep and
/// shutdown.
final class MultiProcExecutor: Executor, @unchecked Sendable {
    let driver: any Worker
    let model: TensorParallelModel
    var channel: WorkerChannel { model.group.channel }

    init(driver: any Worker, model: TensorParallelModel) {
        self.driver = driver
        self.model = model
    }

    var modelConfig: ModelConfig { driver.modelConfig }
    var adapterShapes: ModelConfig { model.part.wholeConfig }
    var weightBytes: Int { driver.weightBytes }

    func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock] {
        if case .disk = offloading?.backend {
            throw .invalid("the disk KV offloading tier with --tensor-parallel-size or --pipeline-parallel-size above 1 is not supported yet (the memory tier is)")
        }
        channel.send(.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype,
                                        offloadSlots: offloading?.numBlocks ?? 0))
        return try driver.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype, offloading: offloading)
    }

    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?) {
        driver.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID, promptEmbeddings: promptEmbeddings)
    }

    func removeRequests(_ ids: [String]) { driver.removeRequests(ids) }
    func addLoRA(id: Int, adapter: LoRAAdapter) { driver.addLoRA(id: id, adapter: model.addLoRA(id: id, adapter: adapter)) }

    func removeLoRA(id: Int) {
        model.removeLoRA(id: id)
        driver.removeLoRA(id: id)
    }

    func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput { submitModel(output).wait() }

    var maxConcurrentBatches: Int { model.pipelineDepth }

    /// The workers' part of a step comes in the order rank 0's runner does it: tier loads, block
    /// copies, the forward (sent from inside it), tier stores.
    func submitModel(_ output: SchedulerOutput) -> PendingStep {
        if !output.offloadLoads.isEmpty { channel.send(.loadBlocks(output.offloadLoads.map { ($0.blockID, $0.slot) })) }
        if !output.blockCopies.isEmpty { channel.send(.copyBlocks(output.blockCopies.map { ($0.src, $0.dst) })) }
        let step = driver.submitModel(output)
        if !output.offloadStores.isEmpty { channel.send(.storeBlocks(output.offloadStores.map { ($0.blockID, $0.slot) })) }
        return step
    }

    func sleep(level: Int) {
        channel.send(.releaseKVCache)
        driver.sleep(level: level)
    }
}
