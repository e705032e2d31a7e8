import Dispatch
import VLLMModels

/// An executor whose calls all run, in order, on one serial queue, so a step can compute while
/// the engine core schedules the next one (`--async-scheduling`). Calls that return nothing
/// are queued without waiting; `submit` starts a step and returns at once.
final class AsyncExecutor: Executor, @unchecked Sendable {
    let inner: any Executor
    private let queue = DispatchQueue(label: "vllm.worker")

    init(_ inner: any Executor) { self.inner = inner }

    var modelConfig: ModelConfig { inner.modelConfig }
    var weightBytes: Int { inner.weightBytes }

    func initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType,
                           offloading: KVOffloadingConfig?) throws(EngineArgsError) -> [RestoredBlock] {
        let result = queue.sync {
            Result { () throws(EngineArgsError) in
                try inner.initializeKVCache(layout: layout, numBlocks: numBlocks, blockSize: blockSize, dtype: dtype, offloading: offloading)
            }
        }
        return try result.get()
    }

    func addRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?, promptEmbeddings: PromptEmbeddings?) {
        queue.async { [inner] in
            inner.addRequest(id: id, params: params, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID,
                             promptEmbeddings: promptEmbeddings)
        }
    }

    func removeRequests(_ ids: [String]) { queue.async { [inner] in inner.removeRequests(ids) } }
    func addLoRA(id: Int, adapter: LoRAAdapter) { queue.async { [inner] in inner.addLoRA(id: id, adapter: adapter) } }
    func removeLoRA(id: Int) { queue.async { [inner] in inner.removeLoRA(id: id) } }
    func executeModel(_ output: SchedulerOutput) -> ModelRunnerOutput { submit(output).wait() }
    func sleep(level: Int) { queue.sync { inner.sleep(level: level) } }

    /// Starts `output` after every call queued before it.
    func submit(_ output: SchedulerOutput) -> PendingStep {
        let step = PendingStep()
        queue.async { [inner] in step.fulfil(inner.executeModel(output)) }
        return step
    }
}
