import VLLMEngine
import VLLMModels

/// The executor of a tensor- or pipeline-parallel engine (vLLM's `MultiProcExecutor`, over MPI ranks): the
/// driver worker on rank 0 runs the model runner and samples; the other ranks follow rank 0's
/// messages: the KV cache's shape once, each step's block copies and forward delta (sent by
/// `TensorParallelModel` from inside the runner's forward), sleep and shutdown.
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
        guard offloading == nil else {
            throw .invalid("KV offloading (--kv-offloading-size) with --tensor-parallel-size or --pipeline-parallel-size above 1 is not supported yet")
        }
        channel.send(.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype))
        return try driver.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype, offloading: nil)
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

    func submitModel(_ output: SchedulerOutput) -> PendingStep {
        if !output.blockCopies.isEmpty { channel.send(.copyBlocks(output.blockCopies.map { ($0.src, $0.dst) })) }
        return driver.submitModel(output)
    }

    func sleep(level: Int) {
        channel.send(.releaseKVCache)
        driver.sleep(level: level)
    }
}
