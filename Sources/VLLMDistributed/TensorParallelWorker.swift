import VLLMEngine
import VLLMModels

/// A worker rank of a tensor- or pipeline-parallel group: it runs its part of the model (its
/// stage's layers, its KV heads) over its own KV cache for every step rank 0 sends, until rank 0
/// says to stop.
struct TensorParallelWorker {
    let part: DecoderModel
    let group: TensorParallelGroup

    func run() {
        var kv: PagedKVCache?
        // The offloading tier's part of this rank (memory only: loads cannot fail).
        var tier: HostKVOffloadStore?
        var loras: [Int: LoRAAdapter] = [:]
        var sequences: [Int64: (tables: [[Int32]], embeddings: PromptEmbeddings?, step: Int)] = [:]
        var step = 0
        let depth = group.pipeline?.stage.count ?? 1
        // The last stage's tensor-parallel rank 0 samples, with its copy of the sampling state.
        let sampler = group.pipeline?.samples == true ? RequestSampler(vocabSize: part.config.vocabSize) : nil
        var samplingSteps: [SamplingStep] = []
        while true {
            switch group.channel.receive() {
            case let .initializeKVCache(layout, numBlocks, blockSize, dtype, offloadSlots):
                kv = PagedKVCache(config: part.config, layout: part.kvCacheLayout(layout), numBlocks: numBlocks, blockSize: blockSize, dtype: dtype)
                if offloadSlots > 0 { tier = HostKVOffloadStore(numSlots: offloadSlots, blockBytes: kv!.packedBlockBytes) }
            case let .copyBlocks(copies):
                for c in copies { kv!.copyBlock(from: c.src, to: c.dst) }
            case let .loadBlocks(transfers):
                _ = tier!.load(transfers.map { BlockTransfer(blockID: $0.block, slot: $0.slot, hash: BlockHash(high: 0, low: 0)) }, into: kv!)
            case let .storeBlocks(transfers):
                tier!.store(transfers.map { BlockTransfer(blockID: $0.block, slot: $0.slot, hash: BlockHash(high: 0, low: 0)) }, from: kv!)
            case let .forward(delta):
                // Rank 0 forgets the same sequences at the start of its step (`TensorParallelModel`).
                sequences = sequences.filter { $0.value.step >= step - depth }
                let inputs = delta.entries.map { e in
                    var state: (tables: [[Int32]], embeddings: PromptEmbeddings?, step: Int)
                    switch e.tables {
                    case let .replace(tables): state = (tables, e.promptEmbeddings, step)
                    case let .append(added):
                        guard let prior = sequences[e.sequence] else { preconditionFailure("rank 0 extended sequence \(e.sequence), which this rank does not hold") }
                        state = (zip(prior.tables, added).map { $0 + $1 }, prior.embeddings, step)
                    }
                    sequences[e.sequence] = state
                    return SequenceInput(tokens: e.tokens.map(Int.init), firstPosition: e.firstPosition, blockTables: state.tables,
                                         needsLogits: e.needsLogits, needsAllLogits: e.needsAllLogits,
                                         lora: e.lora.map { id in
                                             guard let a = loras[id] else { preconditionFailure("LoRA adapter \(id) is not loaded on rank \(group.rank)") }
                                             return a
                                         },
                                         promptEmbeddings: state.embeddings)
                }
                step += 1
                let logits = part.forward(inputs, kv: kv!)
                if let sampler {
                    let sampled = sampler.sample(samplingSteps.removeFirst(), logits: logits)
                    group.pipeline!.sendSampled(WireJSON.encode(sampled))
                }
                group.steps += 1
                group.tokens += inputs.reduce(0) { $0 + $1.tokens.count }
            case .releaseKVCache:
                kv?.releaseMemory()
            case let .addLoRA(id, path, maxRank):
                // Rank 0 read the same path a moment ago; a rank that cannot (another host
                // without the file) ends the job, and mpirun names it.
                do {
                    loras[id] = try LoRAAdapter(path: path, model: part.wholeConfig, maxRank: maxRank)
                        .part(group.shard, of: part.wholeConfig)
                } catch {
                    fatalError("tensor parallel rank \(group.rank) cannot read LoRA adapter \(path): \(error)")
                }
            case let .removeLoRA(id):
                loras[id] = nil
            case let .sampling(message):
                guard let sampler else { break }
                switch message {
                case let .addRequest(id, params, badWords, prompt, eos):
                    var params = params
                    params.badWordsTokenIDs = badWords
                    sampler.addRequest(id: id, params: params, promptTokenIDs: prompt, eosTokenID: eos)
                case let .removeRequests(ids): sampler.remove(ids)
                case let .step(s): samplingSteps.append(s)
                }
            case .shutdown:
                return
            }
        }
    }
}
