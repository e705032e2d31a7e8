import Synchronization

/// The offline API (vLLM's `LLM`): load a model once, then generate for many prompts at a time
/// through continuous batching. `AsyncLLM` is the streaming counterpart.
///
/// ```swift
/// let llm = try LLM(model: path)
/// let outputs = try llm.generate(["Hello", "The capital of France is"], SamplingParams(temperature: 0))
/// ```
public final class LLM: @unchecked Sendable {
    public let engine: LLMEngine
    public let loaded: LoadedModel
    private var nextID = 0

    /// Loads `model` (a GGUF path; nil: the default model) with the engine settings `args`.
    public init(model: String? = nil, args: EngineArgs = EngineArgs()) throws {
        loaded = try LoadedModel(path: model, args: args)
        engine = try loaded.engine(args: args)
    }

    deinit { engine.persistKVOffloading() }

    public var tokenizer: Tokenizer { loaded.tokenizer }

    /// Generates for every prompt, all submitted at once; outputs come back in input order.
    /// `params` holds one entry for all prompts or one per prompt. A prompt that is refused
    /// throws before any work starts.
    ///
    /// `loraRequest` holds nothing (the base model), one adapter for all prompts, or one entry
    /// per prompt (nil: that prompt runs on the base model). An adapter not loaded yet is loaded
    /// from its path; requests with different adapters run in the same batches.
    public func generate(_ prompts: [PromptInput], _ params: [SamplingParams],
                         loraRequest: [LoRARequest?] = []) throws -> [RequestOutput] {
        precondition(params.count == 1 || params.count == prompts.count, "one SamplingParams, or one per prompt")
        precondition(loraRequest.count <= 1 || loraRequest.count == prompts.count, "one LoRARequest, or one per prompt")
        let ids = prompts.indices.map { _ in nextRequestID() }
        for (i, prompt) in prompts.enumerated() {
            do {
                try engine.addRequest(id: ids[i], prompt: prompt, params: params[params.count == 1 ? 0 : i],
                                      lora: loraRequest.isEmpty ? nil : loraRequest[loraRequest.count == 1 ? 0 : i])
            } catch {
                for id in ids[..<i] { engine.abortRequest(id: id) }
                throw error
            }
        }
        let finished = try runToCompletion(ids)
        return ids.map { finished[$0]! }
    }

    public func generate(_ prompts: [String], _ params: SamplingParams = SamplingParams(),
                         loraRequest: LoRARequest? = nil) throws -> [RequestOutput] {
        try generate(prompts.map(PromptInput.text), [params], loraRequest: [loraRequest])
    }

    /// vLLM 0.11's `LLM.beam_search`: for each prompt, the best `beamWidth` sequences by
    /// length-penalized score (cumulative logprob / length^lengthPenalty), best first. Beams
    /// share KV blocks and fork with copy-on-write (see `BeamSearchDriver`). A prompt that is
    /// refused throws before any work starts.
    public func beamSearch(_ prompts: [PromptInput], _ params: BeamSearchParams) throws -> [BeamSearchOutput] {
        let ids = prompts.indices.map { _ in nextRequestID() }
        for (i, prompt) in prompts.enumerated() {
            do { try engine.addBeamSearch(id: ids[i], prompt: prompt, params: params) } catch {
                for id in ids[..<i] { engine.abortRequest(id: id) }
                throw error
            }
        }
        let finished = try runToCompletion(ids)
        return ids.map { id in
            let out = finished[id]!
            return BeamSearchOutput(sequences: out.outputs.map { o in
                let tokens = out.promptTokenIDs + o.tokenIDs
                let eos = o.finishReason == "stop" && o.tokenIDs.last == engine.tokenizer.eosTokenID
                return BeamSearchSequence(tokens: tokens, text: o.text, cumulativeLogprob: o.cumulativeLogprob ?? 0,
                                          score: beamSearchScore(length: tokens.count, endsWithEOS: eos,
                                                                 cumulativeLogprob: o.cumulativeLogprob ?? 0,
                                                                 lengthPenalty: params.lengthPenalty),
                                          finishReason: o.finishReason ?? "length")
            })
        }
    }

    public func beamSearch(_ prompts: [String], _ params: BeamSearchParams) throws -> [BeamSearchOutput] {
        try beamSearch(prompts.map(PromptInput.text), params)
    }

    /// Stops the `generate` or `beamSearch` running on another thread: its requests are
    /// aborted (their KV blocks freed) and it throws `CancellationError`.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// How many requests of the running `generate` or `beamSearch` have finished, for progress
    /// bars on another thread.
    public var finishedRequests: Int { finishedCount.load(ordering: .relaxed) }

    private let cancelled = Atomic<Bool>(false)
    private let finishedCount = Atomic<Int>(0)

    private func runToCompletion(_ ids: [String]) throws -> [String: RequestOutput] {
        finishedCount.store(0, ordering: .relaxed)
        cancelled.store(false, ordering: .relaxed)
        var finished: [String: RequestOutput] = [:]
        while finished.count < ids.count {
            if cancelled.exchange(false, ordering: .relaxed) {
                for id in ids where finished[id] == nil { engine.abortRequest(id: id) }
                throw CancellationError()
            }
            for out in engine.step() where out.finished {
                finished[out.requestID] = out
                finishedCount.store(finished.count, ordering: .relaxed)
            }
        }
        return finished
    }

    private func nextRequestID() -> String {
        defer { nextID += 1 }
        return String(nextID)
    }
}
