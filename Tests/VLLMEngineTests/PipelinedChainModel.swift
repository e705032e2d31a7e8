import Foundation
import VLLMCompute
@testable import VLLMModels
import VLLMEngine
import VLLMDistributed

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

/// A pipeline whose last stage samples, in one process: the last stage's copy of the sampling
/// state is fed what rank 0's runner sends (each through its JSON form, as over MPI), samples
/// each step as its forward ends, and the runner gets the tokens (JSON again).
final class SamplingPipelinedChainModel: LastStageSampling, @unchecked Sendable {
    let inner: PipelinedChainModel
    private let sampler: RequestSampler
    private var sampled: [[UInt8]] = []
    private(set) var mostInFlight = 0
    var config: ModelConfig { inner.config }
    var pool: ThreadPool { inner.pool }
    var weightBytes: Int { 0 }
    var pipelineDepth: Int { inner.pipelineDepth }
    var samplesOnLastStage: Bool { true }

    init(_ inner: ChainModel, depth: Int) {
        self.inner = PipelinedChainModel(inner, depth: depth)
        sampler = RequestSampler(vocabSize: inner.config.vocabSize)
    }

    static func roundTrip<T: Codable>(_ value: T) -> T { WireJSON.decode(T.self, from: WireJSON.encode(value)) }

    func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits { inner.forward(inputs, kv: kv) }
    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache) { inner.startForward(inputs, kv: kv) }
    func finishForward() -> Logits { inner.finishForward() }

    func addSamplingRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?) {
        var copy = Self.roundTrip(params)
        copy.badWordsTokenIDs = params.badWordsTokenIDs
        sampler.addRequest(id: id, params: copy, promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID)
    }

    func removeSamplingRequests(_ ids: [String]) { sampler.remove(Self.roundTrip(ids)) }

    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache, sampling: SamplingStep) {
        inner.startForward(inputs, kv: kv)
        let tokens = sampler.sample(Self.roundTrip(sampling), logits: inner.finishForward())
        sampled.append(WireJSON.encode(tokens))
        mostInFlight = max(mostInFlight, sampled.count)
    }

    func finishSampled() -> [String: [SampledToken]] {
        WireJSON.decode([String: [SampledToken]].self, from: sampled.removeFirst())
    }
}
