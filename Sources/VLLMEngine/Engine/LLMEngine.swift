import Foundation
import VLLMCompute
import VLLMModels
import VLLMStructuredOutput
import VLLMTokenizers

/// A prompt as text (tokenized with special-token parsing), as token ids, or as input
/// embeddings (with `EngineArgs.enablePromptEmbeds`).
public enum PromptInput: Sendable, Equatable, Codable {
    case text(String)
    case tokenIDs([Int])
    case embeddings(PromptEmbeddings)
}

/// Why a request was refused before reaching the engine core.
public enum InvalidRequest: Error, Equatable, CustomStringConvertible {
    case emptyPrompt
    case tokenOutOfRange(Int, vocabSize: Int)
    case tooLong(promptTokens: Int, maxTokens: Int, maxModelLen: Int)
    case duplicateID(String)
    case badParams(String)

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty (it must contain at least one token)"
        case let .tokenOutOfRange(id, v): "Token id \(id) is out of vocabulary (ids are 0..<\(v))"
        case let .tooLong(p, m, l):
            "prompt (\(p) tokens) plus max_tokens (\(m)) is \(p + m) tokens, more than max_model_len (\(l))"
        case let .duplicateID(id): "request id \(id) is already in use"
        case let .badParams(m): m
        }
    }
}

/// The synchronous engine (vLLM's `LLMEngine`): input processing, the engine core, and output
/// processing, driven one `step()` at a time by its owner.
public final class LLMEngine: @unchecked Sendable {
    public let tokenizer: Tokenizer
    public let config: ModelConfig
    public let args: EngineArgs
    public let engineCore: EngineCore
    public let maxModelLen: Int
    public let numKVBlocks: Int
    let outputs: OutputProcessor
    let beams: BeamSearchDriver
    let coreIDs = CoreRequestIDs()
    /// Seeds for requests without one, from `EngineArgs.seed`.
    private var engineSeeds: SplitMix64?
    /// Loaded LoRA adapters; nil without `--enable-lora`.
    let lora: LoRAManager?
    /// Bytes of one KV block (adapters are charged in these units).
    public let kvBlockBytes: Int
    /// Blocks the KV offloading tier holds (`--kv-offloading-size`); nil: no tier.
    public let numOffloadingBlocks: Int?
    /// The model's generation_config.json, when `--generation-config` reads one.
    public let generationConfig: GenerationConfig?
    /// The vocabulary as constraints see it (shared with the engine core's structured outputs).
    let grammarVocabulary: GrammarVocabulary

    /// The tier `args` ask for. The disk tier's identity holds everything that changes a block's
    /// KV for the same tokens: the weights, the model's configuration, weight, activation and KV
    /// dtypes, block size and KV layout; and the data-parallel replica, whose blocks are its own
    /// (its own file, restored to it alone).
    static func offloadingBackend(args: EngineArgs, config: ModelConfig, modelIdentity: String?) throws(EngineArgsError) -> KVOffloadingBackend {
        guard args.kvOffloadingBackend == "disk" else { return .memory }
        guard let modelIdentity else {
            throw .invalid("--kv-offloading-backend disk needs a model loaded from a file or directory (its identity keys the stored blocks)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let configJSON = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "\(config)"
        let identity = [modelIdentity, configJSON, "dtype=\(args.dtype)", "activation=\(args.activationDtype)",
                        "kv=\(args.kvCacheDtype)", "block=\(args.blockSize)", "hybrid=\(!args.disableHybridKVCacheManager)"]
            + (args.dataParallelSize > 1 ? ["replica=\(args.dataParallelRank)"] : [])
        return .disk(directory: args.kvOffloadingPath!, identity: identity.joined(separator: "\n"))
    }

    /// vLLM's sleep mode, with no request unfinished: the prefix cache is forgotten and the KV
    /// cache's memory goes back to the system (pages come back, zeroed, as steps write them).
    public func sleep(level: Int) {
        precondition(!hasUnfinishedRequests, "sleep with requests in flight")
        engineCore.scheduler.kvCacheManager.pool.resetPrefixCache()
        engineCore.executor.sleep(level: level)
    }

    /// Before the engine stops: a disk offloading tier takes the prefix cache's blocks, so a
    /// restarted engine finds them.
    public func persistKVOffloading() {
        if args.kvOffloadingBackend == "disk" { engineCore.offloadPrefixCache() }
    }

    /// vLLM's `get_default_sampling_params`: vLLM's defaults with the model's generation-config
    /// values over them (max_new_tokens becomes max_tokens).
    public var defaultSamplingParams: SamplingParams {
        var p = SamplingParams()
        guard let g = generationConfig else { return p }
        if let t = g.temperature { p.temperature = Float(t) }
        if let t = g.topP { p.topP = Float(t) }
        if let k = g.topK { p.topK = k }
        if let m = g.minP { p.minP = Float(m) }
        if let r = g.repetitionPenalty { p.repetitionPenalty = Float(r) }
        if let m = g.maxNewTokens { p.maxTokens = m }
        return p
    }

    /// An engine on one CPU worker running `model`.
    public convenience init(model: any CausalLM, tokenizer: Tokenizer, args: EngineArgs,
                            generationConfig: GenerationConfig? = nil, modelIdentity: String? = nil,
                            draftModel: (any CausalLM)? = nil) throws {
        try self.init(executor: UniProcExecutor(model: model), tokenizer: tokenizer, args: args,
                      generationConfig: generationConfig, modelIdentity: modelIdentity, draftModel: draftModel)
    }

    /// An engine driving `executor` (built by the caller: one worker here, several processes or
    /// another device elsewhere); its KV cache is sized here and allocated through it.
    /// `modelIdentity` names the weights (`LoadedModel.identity`); the disk KV offloading tier
    /// needs it to tell its own blocks from another model's. `draftModel`: the draft of a
    /// draft-model `--speculative-config`, loaded by the caller.
    public init(executor: any Executor, tokenizer: Tokenizer, args: EngineArgs,
                generationConfig: GenerationConfig? = nil, modelIdentity: String? = nil,
                draftModel: (any CausalLM)? = nil) throws {
        try args.validate()
        self.args = args
        engineSeeds = args.seed.map { SplitMix64(seed: $0) }
        self.generationConfig = generationConfig
        let config = executor.modelConfig
        self.config = config
        self.tokenizer = tokenizer
        maxModelLen = args.maxModelLen ?? config.contextLength
        guard maxModelLen <= config.contextLength else {
            throw EngineArgsError.invalid("--max-model-len \(maxModelLen) exceeds the model's context length \(config.contextLength)")
        }
        numKVBlocks = try args.numKVBlocks(config: config, weightBytes: executor.weightBytes, draft: draftModel)
        let layout = args.kvCacheLayout(config: config)
        // Blocks one request of max_model_len tokens may hold (sliding-window groups: the window).
        let perRequest = KVCacheManager.maxBlocksNeeded(windows: layout.windows, blockSize: args.blockSize, tokens: maxModelLen,
                                                        chunk: args.maxNumBatchedTokens)
        guard perRequest <= numKVBlocks else {
            throw EngineArgsError.invalid("max_model_len (\(maxModelLen)) needs \(perRequest) KV blocks but the KV cache holds \(numKVBlocks) (\(numKVBlocks * args.blockSize) tokens); lower --max-model-len or give the KV cache more memory")
        }
        kvBlockBytes = args.kvBlockBytes(config: config)
        // vLLM's --kv-offloading-size is the tier's size summed over the tensor-parallel ranks,
        // each of which holds its heads' part of every block.
        let offloadingBlocks = try args.numOffloadingBlocks(blockBytes: kvBlockBytes * args.tensorParallelSize)
        numOffloadingBlocks = offloadingBlocks
        var schedulerConfig = SchedulerConfig(
            maxNumBatchedTokens: args.maxNumBatchedTokens, maxNumSeqs: args.maxNumSeqs, maxModelLen: maxModelLen,
            blockSize: args.blockSize, enableChunkedPrefill: args.enableChunkedPrefill,
            longPrefillTokenThreshold: args.longPrefillTokenThreshold, enablePrefixCaching: args.enablePrefixCaching, policy: args.schedulingPolicy,
            maxLoras: args.enableLoRA ? args.maxLoras : nil, kvCacheGroupWindows: layout.windows)
        schedulerConfig.kvOffloadingBlocks = offloadingBlocks
        let scheduler = try Scheduler(config: schedulerConfig, numBlocks: numKVBlocks)
        let restored = try executor.initializeKVCache(
            layout: layout, numBlocks: numKVBlocks, blockSize: args.blockSize, dtype: args.kvCacheDtype,
            offloading: try offloadingBlocks.map { n throws(EngineArgsError) in
                KVOffloadingConfig(numBlocks: n, backend: try Self.offloadingBackend(args: args, config: config, modelIdentity: modelIdentity))
            })
        scheduler.kvCacheManager.offloading?.restore(restored.map { ($0.slot, $0.hash) })
        grammarVocabulary = GrammarVocabulary(tokenizer: tokenizer, vocabSize: config.vocabSize)
        var reasoningEnd: Int?
        if let parser = args.reasoningParser {
            guard tokenizer.tokenID("<think>") != nil, let end = tokenizer.tokenID("</think>") else {
                throw EngineArgsError.invalid("--reasoning-parser \(parser) needs the tokens <think> and </think> in the model's vocabulary")
            }
            reasoningEnd = end
        }
        var proposer: (any SpeculativeProposer)?
        if case let .draftModel(name) = args.speculativeConfig?.method {
            guard let draftModel else { throw EngineArgsError.invalid("--speculative-config: the draft model \(name) is not loaded") }
            guard draftModel.config.vocabSize == config.vocabSize else {
                throw EngineArgsError.invalid("--speculative-config: the draft model \(name) has \(draftModel.config.vocabSize) tokens in its vocabulary, the model \(config.vocabSize); a draft needs the model's tokenizer")
            }
            // As many token slots as the model's KV cache, from the same budget (numKVBlocks).
            proposer = DraftModelProposer(model: draftModel, numBlocks: numKVBlocks, blockSize: args.blockSize, dtype: args.kvCacheDtype)
        }
        engineCore = EngineCore(scheduler: scheduler, executor: executor,
                                structuredOutputs: StructuredOutputManager(vocabulary: grammarVocabulary, reasoningEndTokenID: reasoningEnd),
                                asyncScheduling: args.asyncScheduling, speculativeConfig: args.speculativeConfig, proposer: proposer)
        outputs = OutputProcessor(tokenizer: tokenizer)
        beams = BeamSearchDriver(core: engineCore, tokenizer: tokenizer, ids: coreIDs)
        lora = args.enableLoRA ? LoRAManager(maxRank: args.maxLoraRank, maxLoras: args.maxLoras,
                                             maxCPULoras: args.maxCPULoras ?? args.maxLoras, blockBytes: kvBlockBytes) : nil
        let draftMiB = draftModel.map {
            ", draft model's KV \((numKVBlocks * DraftModelProposer.bytesPerBlock($0, blockSize: args.blockSize, dtype: args.kvCacheDtype)) >> 20) MiB"
        } ?? ""
        let mib = (numKVBlocks * kvBlockBytes) >> 20
        let held = layout.groupCount == 1 ? "\(numKVBlocks * args.blockSize) tokens"
            : "\(layout.groupCount) KV cache groups of \(layout.slotsPerBlock) layers"
        let line = "KV cache: \(numKVBlocks) blocks of \(args.blockSize) tokens (\(held), \(mib) MiB\(draftMiB)); "
            + "maximum concurrency for \(maxModelLen) tokens per request: \(Double(numKVBlocks * 100 / perRequest) / 100)x\n"
        logInfo(line)
        if let n = offloadingBlocks {
            let kept = restored.isEmpty ? "" : "; \(restored.count) blocks kept from the last run"
            logInfo("KV offloading (\(args.kvOffloadingBackend)): \(n) blocks (\(n * args.blockSize) tokens, \((n * kvBlockBytes * args.tensorParallelSize) >> 20) MiB)\(kept)\n")
        }
        if lora != nil {
            for (i, m) in args.loraModules.enumerated() {
                do {
                    _ = try loadLoRAAdapter(LoRARequest(loraName: m.name, loraIntId: i + 1, loraPath: m.path,
                                                        baseModelName: m.baseModelName), log: false)
                } catch { throw EngineArgsError.invalid("--lora-modules \(m.name): \(error)") }
            }
            logLoRAMemory("at start, \(args.loraModules.count) adapter(s) loaded")
        }
    }

    /// Tokenizes and validates a request without touching engine state, so any thread may call
    /// it (vLLM's input processor); `add` then queues the result on the engine's owner thread.
    public func processInputs(id: String, prompt: PromptInput, params: SamplingParams,
                              priority: Int = 0, lora: LoRARequest? = nil) throws(InvalidRequest) -> EngineCoreRequest {
        if let lora {
            guard self.lora != nil else { throw .badParams(LoRALoadError.notEnabled.description) }
            guard lora.loraIntId > 0, !lora.loraName.isEmpty else {
                throw .badParams("a LoRA request needs a name and a positive lora_int_id, got '\(lora.loraName)' and \(lora.loraIntId)")
            }
            if params.isBeamSearch { throw .badParams("beam search with a LoRA adapter is not supported.") }
        }
        do { try params.validate(vocabSize: config.vocabSize) } catch { throw .badParams(error.description) }
        if params.isBeamSearch && !params.stop.isEmpty {
            throw .badParams("stop strings are not supported with beam search; use stop_token_ids.")
        }
        if params.isBeamSearch && params.promptLogprobs != nil {
            throw .badParams("prompt_logprobs is not supported with beam search.")
        }
        var ids: [Int]
        var embeddings: PromptEmbeddings?
        switch prompt {
        case let .text(t): ids = tokenizer.encode(t)
        case let .tokenIDs(t): ids = t
        case let .embeddings(e):
            try checkPromptEmbeddings(e, params)
            embeddings = e
            // Placeholders: the scheduler counts and hashes positions by token; the rows are used.
            ids = Array(repeating: 0, count: e.rows)
        }
        do { ids = try params.truncatedPrompt(ids, maxModelLen: maxModelLen) } catch { throw .badParams(error.description) }
        guard !ids.isEmpty else { throw .emptyPrompt }
        if let bad = ids.first(where: { !(0..<config.vocabSize).contains($0) }) {
            throw .tokenOutOfRange(bad, vocabSize: config.vocabSize)
        }
        guard ids.count + params.maxTokens <= maxModelLen else {
            throw .tooLong(promptTokens: ids.count, maxTokens: params.maxTokens, maxModelLen: maxModelLen)
        }
        var params = params
        params.tokenizeBadWords { tokenizer.encode($0, addSpecialTokens: false) }
        // vLLM's update_from_generation_config: the model's other EOS ids stop generation too.
        if let extra = generationConfig?.eosTokenIDs, !params.ignoreEOS {
            for e in extra where e != tokenizer.eosTokenID && !params.stopTokenIDs.contains(e) { params.stopTokenIDs.append(e) }
        }
        // Compiled here, on the caller's thread (cached by constraint); beam search ignores
        // structured outputs, as in vLLM.
        var grammar: CompiledGrammar?
        if let so = params.structuredOutputs, !params.isBeamSearch {
            do { grammar = try so.compiled() } catch { throw .badParams(error.message) }
            // Its token tables too, here rather than on the engine thread.
            _ = grammar?.tokenTables(for: grammarVocabulary.info)
        }
        return EngineCoreRequest(requestID: id, promptTokenIDs: ids, params: params, priority: priority, lora: lora,
                                 promptEmbeddings: embeddings, grammar: grammar)
    }

    /// What vLLM refuses for prompt embeddings, and a width that is not the model's.
    private func checkPromptEmbeddings(_ e: PromptEmbeddings, _ params: SamplingParams) throws(InvalidRequest) {
        guard args.enablePromptEmbeds else { throw .badParams("You must set `--enable-prompt-embeds` to input `prompt_embeds`.") }
        guard e.hiddenSize == config.hiddenSize else {
            throw .badParams("prompt_embeds has \(e.hiddenSize) values per position; the model's hidden size is \(config.hiddenSize)")
        }
        if params.promptLogprobs != nil { throw .badParams("prompt_logprobs is not supported with prompt_embeds.") }
        if params.isBeamSearch { throw .badParams("beam search is not supported with prompt_embeds.") }
        if params.truncatePromptTokens != nil { throw .badParams("truncate_prompt_tokens is not supported with prompt_embeds.") }
    }

    /// Queues a processed request: `best_of` (default `n`) engine requests, the first computing
    /// the prompt and the others forking its blocks (`Scheduler.addSibling`; with prompt
    /// logprobs each computes the prompt, as every row is needed), or a beam search
    /// (`params.isBeamSearch`).
    public func add(_ request: EngineCoreRequest) throws(InvalidRequest) {
        let id = request.requestID, params = request.params
        guard !isInUse(id) else { throw .duplicateID(id) }
        if params.isBeamSearch { return try addBeamSearch(request) }
        let loraID = try resolveLoRA(request.lora)
        let childIDs = (0..<params.numCandidates).map { _ in coreIDs.make() }
        outputs.addParent(id: id, promptTokenIDs: request.promptTokenIDs, childIDs: childIDs, n: params.n)
        let seed = params.seed ?? engineSeeds?.next()
        for (index, child) in childIDs.enumerated() {
            var p = params
            p.n = 1
            p.bestOf = nil
            if let seed { p.seed = seed &+ UInt64(index) }
            outputs.addChild(id: child, parentID: id, index: index, params: p)
            do {
                try engineCore.addRequest(Request(requestID: child, promptTokenIDs: request.promptTokenIDs,
                                                  samplingParams: p, eosTokenID: tokenizer.eosTokenID,
                                                  priority: request.priority, loraID: loraID,
                                                  promptEmbeddings: request.promptEmbeddings),
                                          grammar: request.grammar,
                                          siblingOf: index == 0 || params.promptLogprobs != nil ? nil : childIDs[0])
            } catch {
                abortRequest(id: id)
                throw .badParams("\(error)")
            }
        }
    }

    /// `processInputs` then `add`.
    public func addRequest(id: String, prompt: PromptInput, params: SamplingParams, priority: Int = 0,
                           lora: LoRARequest? = nil) throws(InvalidRequest) {
        try add(processInputs(id: id, prompt: prompt, params: params, priority: priority, lora: lora))
    }

    /// Whether `id` names a request that has not finished yet.
    func isInUse(_ id: String) -> Bool { outputs.hasParent(id) || beams.isSearch(id) }

    /// Stops a request; its blocks are freed at once.
    public func abortRequest(id: String) {
        if beams.isSearch(id) { return beams.abort(id) }
        engineCore.abortRequests(outputs.childIDs(of: id))
        outputs.forget(parent: id)
    }

    /// Requests in progress, or a step still computing (async scheduling) that a `step()` collects.
    public var hasUnfinishedRequests: Bool { outputs.hasRequests || beams.hasSearches || engineCore.hasStepInFlight }

    /// One engine iteration; returns the outputs of requests that progressed (beam searches
    /// report once, when done).
    public func step() -> [RequestOutput] {
        let all = engineCore.step()
        outputs.noteScheduled(engineCore.lastScheduledIDs)
        let (changed, abort) = outputs.process(all.filter { !beams.owns($0.requestID) })
        if !abort.isEmpty { engineCore.abortRequests(abort) }
        return changed + beams.process(all.filter { beams.owns($0.requestID) })
    }

    public var stats: SchedulerStats { engineCore.scheduler.stats }
}

/// A tokenized, validated request on its way into the engine core (vLLM's `EngineCoreRequest`).
public struct EngineCoreRequest: Sendable {
    public let requestID: String
    public let promptTokenIDs: [Int]
    public let params: SamplingParams
    public let priority: Int
    /// The adapter to run with; nil: the base model.
    public var lora: LoRARequest? = nil
    /// The prompt as embeddings (`promptTokenIDs` are then placeholders).
    public var promptEmbeddings: PromptEmbeddings? = nil
    /// The compiled `structuredOutputs` constraint.
    public var grammar: CompiledGrammar? = nil
}
