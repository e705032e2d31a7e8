import VLLM

/// Token usage of a call, in every non-streamed response and the last streamed chunk.
struct Usage {
    var promptTokens: Int
    var completionTokens: Int
    /// `prompt_tokens_details.cached_tokens`: set only under `--enable-prompt-tokens-details`
    /// and, as vLLM does, only when the prefix cache supplied some.
    var cachedTokens: Int? = nil

    init(promptTokens: Int, completionTokens: Int, cachedTokens: Int? = nil, options: ServerOptions) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        if options.enablePromptTokensDetails, let n = cachedTokens, n > 0 { self.cachedTokens = n }
    }

    var json: JSONOut {
        .object([
            ("prompt_tokens", .int(promptTokens)),
            ("total_tokens", .int(promptTokens + completionTokens)),
            ("completion_tokens", .int(completionTokens)),
            ("prompt_tokens_details", cachedTokens.map { .object([("cached_tokens", .int($0))]) } ?? .null),
        ])
    }

    /// The usage of a stream's intermediate chunks (`continuous_usage_stats`): vLLM gives the
    /// details only with the final usage.
    var continuousJSON: JSONOut {
        var counts = self
        counts.cachedTokens = nil
        return counts.json
    }
}

/// Turns the engine's per-step logprobs (the chosen token first, then the top alternatives)
/// into the two OpenAI shapes.
struct LogprobsFormatter: Sendable {
    let tokenizer: Tokenizer
    /// `return_tokens_as_token_ids`: tokens are named `token_id:N` in place of their text.
    var tokenIDs = false

    func text(_ id: Int) -> String { String(decoding: tokenizer.tokenBytes(id), as: UTF8.self) }

    /// How a token is named in logprobs.
    func label(_ id: Int) -> String { tokenIDs ? "token_id:\(id)" : text(id) }

    /// Chat's `{"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}` entries for
    /// the given steps; `top` alternatives per step.
    func chatContent(steps: ArraySlice<StepLogprobs>, top: Int) -> [JSONOut] {
        steps.compactMap { step in
            guard let chosen = step.first else { return nil }
            return .object(entry(chosen, bytesOfText: true)
                           + [("top_logprobs", .array(step.dropFirst().prefix(top).map { .object(entry($0, bytesOfText: false)) }))])
        }
    }

    /// vLLM gives the chosen token the bytes of its text and the alternatives the bytes of
    /// their label (which differ only under `tokenIDs`).
    private func entry(_ e: (tokenID: Int, logprob: Double), bytesOfText: Bool) -> [(String, JSONOut)] {
        let bytes = bytesOfText || !tokenIDs ? tokenizer.tokenBytes(e.tokenID) : Array(label(e.tokenID).utf8)
        return [("token", .string(label(e.tokenID))), ("logprob", .double(e.logprob)),
                ("bytes", .array(bytes.map { .int(Int($0)) }))]
    }

    /// Completions' `{"text_offset", "token_logprobs", "tokens", "top_logprobs"}` for the given
    /// tokens, whose text starts `offset` characters into the choice's text; also returns the
    /// offset after them (streamed chunks continue from it). A token without a step (the first
    /// prompt token under `echo`: nothing predicts it) gets nulls, as in vLLM.
    func completion(_ tokens: [(tokenID: Int, step: StepLogprobs?)], top: Int, offset: Int) -> (json: JSONOut, end: Int) {
        var offsets: [JSONOut] = [], logprobs: [JSONOut] = [], texts: [JSONOut] = [], tops: [JSONOut] = []
        var at = offset
        for (id, step) in tokens {
            let t = label(id)
            offsets.append(.int(at))
            at += t.unicodeScalars.count
            texts.append(.string(t))
            guard let step, let chosen = step.first else {
                logprobs.append(.null)
                tops.append(.null)
                continue
            }
            logprobs.append(.double(chosen.logprob))
            // vLLM's dict: the chosen token plus the top alternatives, keyed by token text.
            var seen = Set<String>()
            var pairs: [(String, JSONOut)] = []
            for e in step.prefix(top + 1) {
                let key = label(e.tokenID)
                if seen.insert(key).inserted { pairs.append((key, .double(e.logprob))) }
            }
            tops.append(.object(pairs))
        }
        return (.object([("text_offset", .array(offsets)), ("token_logprobs", .array(logprobs)),
                         ("tokens", .array(texts)), ("top_logprobs", .array(tops))]), at)
    }

    /// Generated steps as `completion`'s tokens (each step starts with the chosen token).
    static func sampled(_ steps: ArraySlice<StepLogprobs>) -> [(tokenID: Int, step: StepLogprobs?)] {
        steps.compactMap { step in step.first.map { ($0.tokenID, step) } }
    }

    /// The prompt's tokens with their logprob steps (nil for the first), for `echo`.
    static func prompt(_ output: RequestOutput) -> [(tokenID: Int, step: StepLogprobs?)] {
        let steps = output.promptLogprobs ?? []
        return output.promptTokenIDs.enumerated().map { i, id in (id, i < steps.count ? steps[i] : nil) }
    }

    /// vLLM's `prompt_logprobs`: per prompt token, null for the first, then
    /// `{"<token id>": {"logprob", "rank", "decoded_token"}}` for the token itself followed by
    /// the top alternatives (ranked 1, 2, …). A token id seen twice keeps its first place and
    /// its last entry, as a Python dict built in that order does. Null when not asked for.
    func promptLogprobs(_ output: RequestOutput?) -> JSONOut {
        guard let output, let steps = output.promptLogprobs else { return .null }
        let ranks = output.promptLogprobRanks ?? []
        return .array(steps.enumerated().map { i, step -> JSONOut in
            guard let step, !step.isEmpty else { return .null }
            var order: [Int] = []
            var entries: [Int: JSONOut] = [:]
            let rankOfFirst = i < ranks.count ? ranks[i] : nil
            for (j, e) in step.enumerated() {
                if entries[e.tokenID] == nil { order.append(e.tokenID) }
                let rank = j == 0 ? rankOfFirst : j
                entries[e.tokenID] = .object([("logprob", .double(e.logprob)), ("rank", .int(rank)),
                                              ("decoded_token", .string(text(e.tokenID)))])
            }
            return .object(order.map { (String($0), entries[$0]!) })
        })
    }
}
