import VLLMCompute
@testable import VLLMModels

/// `ChainModel` seen as a pipeline of `pipelineDepth` stages: a step's logits are computed when
/// it starts and handed out when it finishes, oldest first, so the engine keeps that many steps
/// in flight (its batch queue) as it does with MPI stages.
final class PipelinedChainModel: PipelinedCausalLM, @unchecked Sendable {
    let inner: ChainModel
    let pipelineDepth: Int
    var config: ModelConfig { inner.config }
    var pool: ThreadPool { inner.pool }
    var weightBytes: Int { 0 }
    private var started: [[Float]] = []
    private var handedOut = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// The most steps that were in flight at once.
    private(set) var mostInFlight = 0

    init(_ inner: ChainModel, depth: Int) {
        self.inner = inner
        pipelineDepth = depth
    }

    deinit { handedOut.deallocate() }

    func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits {
        startForward(inputs, kv: kv)
        return finishForward()
    }

    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache) {
        let l = inner.forward(inputs, kv: kv)
        started.append(Array(UnsafeBufferPointer(start: l.base, count: l.count * l.vocabSize)))
        mostInFlight = max(mostInFlight, started.count)
    }

    func finishForward() -> Logits {
        let values = started.removeFirst()
        handedOut.deallocate()
        handedOut = .allocate(capacity: max(1, values.count))
        handedOut.update(from: values, count: values.count)
        return Logits(base: handedOut, count: values.count / config.vocabSize, vocabSize: config.vocabSize)
    }
}
