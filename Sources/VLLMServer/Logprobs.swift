import VLLM

/// Token usage of a call, in every non-streamed response and the last streamed chunk.
struct Usage {
    var promptTokens: Int
    var completionTokens: Int

    var json: JSONOut {
        .object([
            ("prompt_tokens", .int(promptTokens)),
            ("total_tokens", .int(promptTokens + completionTokens)),
            ("completion_tokens", .int(completionTokens)),
            ("prompt_tokens_details", .null),
        ])
    }
}

/// Turns the engine's per-step logprobs (the chosen token first, then the top alternatives)
/// into the two OpenAI shapes.
struct LogprobsFormatter: Sendable {
    let tokenizer: Tokenizer

    func text(_ id: Int) -> String { String(decoding: tokenizer.tokenBytes(id), as: UTF8.self) }

    /// Chat's `{"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}` entries for
    /// the given steps; `top` alternatives per step.
    func chatContent(steps: ArraySlice<StepLogprobs>, top: Int) -> [JSONOut] {
        steps.compactMap { step in
            guard let chosen = step.first else { return nil }
            return .object(entry(chosen) + [("top_logprobs", .array(step.dropFirst().prefix(top).map { .object(entry($0)) }))])
        }
    }

    private func entry(_ e: (tokenID: Int, logprob: Double)) -> [(String, JSONOut)] {
        let bytes = tokenizer.tokenBytes(e.tokenID)
        return [("token", .string(String(decoding: bytes, as: UTF8.self))), ("logprob", .double(e.logprob)),
                ("bytes", .array(bytes.map { .int(Int($0)) }))]
    }

    /// Completions' `{"text_offset", "token_logprobs", "tokens", "top_logprobs"}` for the given
    /// steps, whose text starts `offset` characters into the choice's text; also returns the
    /// offset after them (streamed chunks continue from it).
    func completion(steps: ArraySlice<StepLogprobs>, top: Int, offset: Int) -> (json: JSONOut, end: Int) {
        var offsets: [JSONOut] = [], logprobs: [JSONOut] = [], tokens: [JSONOut] = [], tops: [JSONOut] = []
        var at = offset
        for step in steps {
            guard let chosen = step.first else { continue }
            let t = text(chosen.tokenID)
            offsets.append(.int(at))
            at += t.unicodeScalars.count
            tokens.append(.string(t))
            logprobs.append(.double(chosen.logprob))
            // vLLM's dict: the chosen token plus the top alternatives, keyed by token text.
            var seen = Set<String>()
            var pairs: [(String, JSONOut)] = []
            for e in step.prefix(top + 1) {
                let key = text(e.tokenID)
                if seen.insert(key).inserted { pairs.append((key, .double(e.logprob))) }
            }
            tops.append(.object(pairs))
        }
        return (.object([("text_offset", .array(offsets)), ("token_logprobs", .array(logprobs)),
                         ("tokens", .array(tokens)), ("top_logprobs", .array(tops))]), at)
    }
}
