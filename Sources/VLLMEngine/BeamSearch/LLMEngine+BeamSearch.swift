extension LLMEngine {
    /// Starts vLLM 0.11's beam search (`LLM.beam_search`) for one prompt: its single output,
    /// reported when done, holds the best `beamWidth` sequences by length-penalized score,
    /// best first, each with its `cumulativeLogprob`.
    public func addBeamSearch(id: String, prompt: PromptInput, params: BeamSearchParams,
                              priority: Int = 0) throws(InvalidRequest) {
        do { try params.validate() } catch { throw .badParams(error.description) }
        let checked = try processInputs(id: id, prompt: prompt,
                                        params: SamplingParams(temperature: 0, maxTokens: params.maxTokens),
                                        priority: priority)
        guard !isInUse(id) else { throw .duplicateID(id) }
        try checkBeamsFit(width: params.beamWidth, promptTokens: checked.promptTokenIDs.count, maxTokens: params.maxTokens)
        let policy = BeamSearchPolicy(width: params.beamWidth, maxTokens: params.maxTokens,
                                      eosTokenID: params.ignoreEOS ? nil : tokenizer.eosTokenID,
                                      lengthPenalty: params.lengthPenalty, earlyStopping: nil,
                                      promptLength: checked.promptTokenIDs.count, maxModelLen: maxModelLen)
        do {
            try beams.add(id: id, promptTokenIDs: checked.promptTokenIDs, policy: policy, n: params.beamWidth,
                          priority: priority)
        } catch { throw .badParams("\(error)") }
    }

    /// The older form: `SamplingParams` with `isBeamSearch`, beam width `best_of`, the `n`
    /// best beams returned (vLLM V0's rules, `early_stopping` included).
    func addBeamSearch(_ request: EngineCoreRequest) throws(InvalidRequest) {
        let p = request.params
        try checkBeamsFit(width: p.numCandidates, promptTokens: request.promptTokenIDs.count, maxTokens: p.maxTokens)
        let policy = BeamSearchPolicy(width: p.numCandidates, maxTokens: p.maxTokens,
                                      eosTokenID: p.ignoreEOS ? nil : tokenizer.eosTokenID,
                                      stopTokenIDs: Set(p.stopTokenIDs), lengthPenalty: p.lengthPenalty,
                                      earlyStopping: p.earlyStopping, promptLength: request.promptTokenIDs.count,
                                      maxModelLen: maxModelLen, logprobs: p.logprobs)
        do {
            try beams.add(id: request.requestID, promptTokenIDs: request.promptTokenIDs, policy: policy, n: p.n,
                          priority: request.priority, skipSpecialTokens: p.skipSpecialTokens, detokenize: p.detokenize)
        } catch { throw .badParams("\(error)") }
    }

    /// A search's live beams hold their blocks together until each has reported its step, so
    /// preempting one cannot free room for it: the shared prompt plus every beam's own output
    /// blocks (and the copied partial block) must fit in the cache at once, or the search
    /// could stall with no beam able to go on.
    private func checkBeamsFit(width: Int, promptTokens: Int, maxTokens: Int) throws(InvalidRequest) {
        let bs = engineCore.scheduler.config.blockSize
        let perBeam = (maxTokens + bs - 1) / bs + 1
        let (beams, overflow) = perBeam.multipliedReportingOverflow(by: width)
        let need = (promptTokens + bs - 1) / bs + beams
        guard !overflow, need <= numKVBlocks else {
            throw .badParams("beam search of width \(width) over a \(promptTokens)-token prompt and \(maxTokens) new tokens may hold \(overflow ? Int.max : need) KV blocks at once, more than the cache's \(numKVBlocks); lower the beam width (best_of) or max_tokens")
        }
    }
}
