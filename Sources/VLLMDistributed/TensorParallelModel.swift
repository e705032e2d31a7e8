import VLLMCompute
import VLLMEngine
import VLLMModels

/// Rank 0's part of a tensor- or pipeline-parallel model: before running its part of each step
/// it tells the other ranks the step (`ForwardDelta`), so every rank runs the same batch; a
/// stage's ranks meet in the layers' all-reduces, stages pass the residual stream on. Without a
/// pipeline the logits are gathered on rank 0, which samples; with one the last stage samples
/// (its copy of the sampling state follows rank 0's) and sends rank 0 the tokens.
final class TensorParallelModel: LastStageSampling, @unchecked Sendable {
    let part: DecoderModel
    let group: TensorParallelGroup
    var config: ModelConfig { part.config }
    var pool: ThreadPool { part.pool }
    var weightBytes: Int { part.weightBytes }
    /// What the workers hold of each sequence: its number, block tables and the step that last
    /// ran it. Step n finds what the `pipelineDepth` steps before it ran; both sides forget the
    /// rest at its start.
    private var sent: [String: (sequence: Int64, tables: [[Int32]], step: Int)] = [:]
    private var nextSequence: Int64 = 0
    private var stepsSent = 0
    /// Rank 0's logits of the last step (without a pipeline).
    private var lastLogits: Logits?
    var pipelineDepth: Int { group.pipeline?.stage.count ?? 1 }
    var samplesOnLastStage: Bool { group.pipeline != nil }
    /// Rank 0's part of each LoRA adapter the workers hold, by the engine's adapter id.
    private var loras: [ObjectIdentifier: Int] = [:]

    init(part: DecoderModel, group: TensorParallelGroup) {
        self.part = part
        self.group = group
    }

    func kvCacheLayout(_ engineLayout: KVCacheLayout) -> KVCacheLayout { part.kvCacheLayout(engineLayout) }

    /// Tells the workers to read adapter `id` and returns the part rank 0 applies.
    func addLoRA(id: Int, adapter: LoRAAdapter) -> LoRAAdapter {
        let mine = adapter.part(group.shard, of: part.wholeConfig)
        group.channel.send(.addLoRA(id: id, path: adapter.path, maxRank: adapter.rank))
        loras = loras.filter { $0.value != id }
        loras[ObjectIdentifier(mine)] = id
        return mine
    }

    func removeLoRA(id: Int) {
        group.channel.send(.removeLoRA(id: id))
        loras = loras.filter { $0.value != id }
    }

    func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits {
        startForward(inputs, kv: kv)
        return finishForward()
    }

    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache) {
        var delta = ForwardDelta()
        let step = stepsSent
        stepsSent += 1
        sent = sent.filter { $0.value.step >= step - pipelineDepth }
        var kept = sent
        for input in inputs {
            let tables = input.blockTables
            var entry = ForwardDelta.Entry(sequence: 0, tokens: input.tokens.map { Int32($0) }, firstPosition: input.firstPosition,
                                           needsLogits: input.needsLogits, needsAllLogits: input.needsAllLogits,
                                           tables: .replace(tables), promptEmbeddings: input.promptEmbeddings,
                                           lora: input.lora.map { a in
                                               guard let id = loras[ObjectIdentifier(a)] else { preconditionFailure("LoRA adapter \(a.path) was not given to the workers") }
                                               return id
                                           })
            if let id = input.sequenceID, let prior = sent[id], let added = Self.appended(from: prior.tables, to: tables) {
                entry.sequence = prior.sequence
                entry.tables = .append(added)
                entry.promptEmbeddings = nil
            } else {
                entry.sequence = nextSequence
                nextSequence += 1
            }
            if let id = input.sequenceID {
                precondition(kept[id]?.step != step, "sequence \(id) twice in one step")
                kept[id] = (entry.sequence, tables, step)
            }
            delta.entries.append(entry)
        }
        sent = kept
        group.channel.send(.forward(delta))
        group.steps += 1
        group.tokens += inputs.reduce(0) { $0 + $1.tokens.count }
        let logits = part.forward(inputs, kv: kv)
        if group.pipeline == nil { lastLogits = logits }
    }

    func finishForward() -> Logits {
        guard let logits = lastLogits else { preconditionFailure("with a pipeline the last stage samples: finishSampled") }
        lastLogits = nil
        return logits
    }

    func addSamplingRequest(id: String, params: SamplingParams, promptTokenIDs: [Int], eosTokenID: Int?) {
        group.channel.send(.sampling(.addRequest(id: id, params: params, badWordsTokenIDs: params.badWordsTokenIDs,
                                                 promptTokenIDs: promptTokenIDs, eosTokenID: eosTokenID)))
    }

    func removeSamplingRequests(_ ids: [String]) { group.channel.send(.sampling(.removeRequests(ids))) }

    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache, sampling: SamplingStep) {
        group.channel.send(.sampling(.step(sampling)))
        startForward(inputs, kv: kv)
    }

    func finishSampled() -> [String: [SampledToken]] {
        WireJSON.decode([String: [SampledToken]].self, from: group.pipeline!.receiveSampled())
    }

    /// The blocks each table gained, when `new` only extends `old`.
    static func appended(from old: [[Int32]], to new: [[Int32]]) -> [[Int32]]? {
        guard old.count == new.count else { return nil }
        var added: [[Int32]] = []
        for (o, n) in zip(old, new) {
            guard n.count >= o.count, n.prefix(o.count).elementsEqual(o) else { return nil }
            added.append(Array(n[o.count...]))
        }
        return added
    }
}
