import VLLMCompute
import VLLMModels

/// Rank 0's part of a tensor-parallel model: before running its part of each step it tells the
/// other ranks the step (`ForwardDelta`), so every rank runs the same batch; they meet in the
/// layers' all-reduces, and the logits are gathered on rank 0, which samples.
final class TensorParallelModel: CausalLM, @unchecked Sendable {
    let part: DecoderModel
    let group: TensorParallelGroup
    var config: ModelConfig { part.config }
    var pool: ThreadPool { part.pool }
    var weightBytes: Int { part.weightBytes }
    /// What the workers hold of each sequence of the last step: its number and block tables.
    private var sent: [String: (sequence: Int64, tables: [[Int32]])] = [:]
    private var nextSequence: Int64 = 0
    /// Rank 0's part of each LoRA adapter the workers hold, by the engine's adapter id.
    private var loras: [ObjectIdentifier: Int] = [:]

    init(part: DecoderModel, group: TensorParallelGroup) {
        self.part = part
        self.group = group
    }

    /// Tells the workers to read adapter `id` and returns the part rank 0 applies.
    func addLoRA(id: Int, adapter: LoRAAdapter) -> LoRAAdapter {
        let mine = adapter.part(TensorParallelShard(rank: group.rank, size: group.size), of: part.wholeConfig)
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
        var delta = ForwardDelta()
        var kept: [String: (sequence: Int64, tables: [[Int32]])] = [:]
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
                precondition(kept[id] == nil, "sequence \(id) twice in one step")
                kept[id] = (entry.sequence, tables)
            }
            delta.entries.append(entry)
        }
        sent = kept
        group.channel.send(.forward(delta))
        group.steps += 1
        group.tokens += inputs.reduce(0) { $0 + $1.tokens.count }
        return part.forward(inputs, kv: kv)
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
