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
}
