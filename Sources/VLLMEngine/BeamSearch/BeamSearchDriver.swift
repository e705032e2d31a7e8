import VLLMTokenizers

/// Runs beam searches on the engine core. Design (ours, after vLLM 0.11's `LLM.beam_search`,
/// which runs one-token requests per step): every live beam is an engine request that
/// computes its last token and returns its top continuations (greedy, `max_tokens` 1, top-K
/// raw logprobs), then finishes keeping its blocks. When all beams of a search have reported,
/// the chosen continuations become new requests *forked* from their parent beam's block
/// table (`Scheduler.fork`): they share every block, the partial last one included, and the
/// first write into a shared partial block copies it (copy-on-write). So a step computes one
/// token per beam and copies at most one block per beam, where vLLM 0.11 recomputes each
/// beam's partial last block through the prefix cache. Parents' blocks are then released.
final class BeamSearchDriver {
    private struct Search {
        let promptTokenIDs: [Int]
        let n: Int
        let priority: Int
        let stepParams: SamplingParams
        let skipSpecialTokens: Bool
        let detokenize: Bool
        var state: BeamSearchState
        /// The engine request of each live beam, in `state.live` order.
        var requestIDs: [String]
        /// Continuations reported so far this step, by live-beam index.
        var reported: [Int: [(tokenID: Int, logprob: Double)]] = [:]
    }

    private let core: EngineCore
    private let tokenizer: Tokenizer
    private let ids: CoreRequestIDs
    private var searches: [String: Search] = [:]
    /// Engine request id → search id.
    private var owners: [String: String] = [:]

    init(core: EngineCore, tokenizer: Tokenizer, ids: CoreRequestIDs) {
        self.core = core
        self.tokenizer = tokenizer
        self.ids = ids
    }

    var hasSearches: Bool { !searches.isEmpty }
    func owns(_ requestID: String) -> Bool { owners[requestID] != nil }
    func isSearch(_ id: String) -> Bool { searches[id] != nil }

    /// Starts a search; the first step runs the prompt.
    func add(id: String, promptTokenIDs: [Int], policy: BeamSearchPolicy, n: Int, priority: Int,
             skipSpecialTokens: Bool = true, detokenize: Bool = true) throws {
        var step = SamplingParams(temperature: 0, maxTokens: 1, ignoreEOS: true, logprobs: policy.candidatesPerBeam)
        step.n = 1
        var search = Search(promptTokenIDs: promptTokenIDs, n: n, priority: priority, stepParams: step,
                            skipSpecialTokens: skipSpecialTokens, detokenize: detokenize, state: BeamSearchState(policy: policy), requestIDs: [])
        let root = request(search, tokens: promptTokenIDs)
        try core.addRequest(root)
        search.requestIDs = [root.requestID]
        owners[root.requestID] = id
        searches[id] = search
    }

    /// Takes the outputs of beam requests; returns the outputs of searches that finished.
    func process(_ updates: [EngineCoreOutput]) -> [RequestOutput] {
        var touched: [String] = []
        for u in updates {
            guard let sid = owners[u.requestID], var s = searches[sid],
                  let beam = s.requestIDs.firstIndex(of: u.requestID), u.finishReason != nil else { continue }
            // Entry 0 is the greedy pick; the top-K list follows.
            s.reported[beam] = Array(u.newLogprobs?.first?.dropFirst() ?? [])
            searches[sid] = s
            if !touched.contains(sid) { touched.append(sid) }
        }
        var finished: [RequestOutput] = []
        for sid in touched {
            guard var s = searches[sid], s.reported.count == s.requestIDs.count else { continue }
            let parents = s.requestIDs
            let next = s.state.advance(top: parents.indices.map { s.reported[$0]! })
            s.reported = [:]
            s.requestIDs = []
            for (parent, beam) in next {
                let child = request(s, tokens: s.promptTokenIDs + beam.tokens)
                // Cannot fail for a child of a held parent within the request's length limit.
                do { try core.forkRequest(child, from: parents[parent]) } catch { continue }
                s.requestIDs.append(child.requestID)
                owners[child.requestID] = sid
            }
            core.releaseBlocks(of: parents)
            for p in parents { owners[p] = nil }
            if s.requestIDs.isEmpty {
                searches[sid] = nil
                finished.append(output(sid, s))
            } else {
                searches[sid] = s
            }
        }
        return finished
    }

    /// Stops a search and frees its blocks.
    func abort(_ id: String) {
        guard let s = searches.removeValue(forKey: id) else { return }
        core.abortRequests(s.requestIDs)
        core.releaseBlocks(of: s.requestIDs)
        for r in s.requestIDs { owners[r] = nil }
    }

    private func request(_ s: Search, tokens: [Int]) -> Request {
        let r = Request(requestID: ids.make(), promptTokenIDs: tokens,
                        samplingParams: s.stepParams, eosTokenID: tokenizer.eosTokenID, priority: s.priority)
        r.keepsBlocksWhenFinished = true
        return r
    }

    private func output(_ id: String, _ s: Search) -> RequestOutput {
        let beams = s.state.best.prefix(s.n)
        return RequestOutput(requestID: id, promptTokenIDs: s.promptTokenIDs, outputs: beams.enumerated().map { i, b in
            var d = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: s.skipSpecialTokens, atSequenceStart: false)
            let text = s.detokenize ? b.tokens.map { d.feed($0) }.joined() + d.finish() : ""
            return CompletionOutput(index: i, text: text, tokenIDs: b.tokens,
                                    logprobs: s.state.policy.logprobs == nil ? nil : b.logprobs,
                                    finishReason: b.finishReason, cumulativeLogprob: b.cumulativeLogprob)
        })
    }
}
