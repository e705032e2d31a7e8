/// `stream_options`: what a streamed response adds.
struct StreamOptions: Decodable, Sendable {
    /// End the stream with a chunk that carries `usage` (and no choices).
    var includeUsage: Bool?
    /// vLLM's extra: put the running `usage` on every chunk.
    var continuousUsageStats: Bool?

    enum CodingKeys: String, CodingKey {
        case includeUsage = "include_usage", continuousUsageStats = "continuous_usage_stats"
    }

    /// As vLLM: continuous usage only together with `include_usage`.
    var usageOnEveryChunk: Bool { includeUsage == true && continuousUsageStats == true }
}

/// A completions prompt: OpenAI accepts a string, a list of strings, a list of token ids or a
/// list of token-id lists. Each element becomes one engine request.
enum CompletionPrompt: Decodable, Sendable {
    case texts([String])
    case tokens([[Int]])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .texts([s]); return }
        if let s = try? c.decode([String].self) { self = .texts(s); return }
        if let ids = try? c.decode([Int].self) { self = .tokens([ids]); return }
        if let ids = try? c.decode([[Int]].self) { self = .tokens(ids); return }
        throw DecodingError.typeMismatch(String.self, .init(
            codingPath: c.codingPath,
            debugDescription: "prompt must be a string, a list of strings, a list of token ids or a list of token-id lists."))
    }

    var count: Int {
        switch self {
        case let .texts(t): t.count
        case let .tokens(t): t.count
        }
    }
}

/// `POST /v1/completions` (OpenAI's legacy completions, with vLLM's extra fields).
struct CompletionRequest: Decodable, Sendable {
    var model: String?
    /// Absent when `promptEmbeds` is given.
    var prompt: CompletionPrompt
    /// vLLM's `prompt_embeds`: base64 of `torch.save` bytes of a (length, hidden) tensor, or a
    /// list of them; each is one more prompt, before those of `prompt`.
    var promptEmbeds: [String]
    var maxTokens: Int?
    var echo: Bool
    var logprobs: Int?
    var stream: Bool
    var streamOptions: StreamOptions?
    var suffix: String?
    var addSpecialTokens: Bool
    var requestID: String?
    var sampling: SamplingFields
    var tokenIDs: TokenIDFields

    enum CodingKeys: String, CodingKey {
        case model, prompt, echo, logprobs, stream, suffix
        case maxTokens = "max_tokens", streamOptions = "stream_options", promptEmbeds = "prompt_embeds"
        case addSpecialTokens = "add_special_tokens", requestID = "request_id"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        if let one = try? c.decodeIfPresent(String.self, forKey: .promptEmbeds) {
            promptEmbeds = [one]
        } else {
            promptEmbeds = try c.decodeIfPresent([String].self, forKey: .promptEmbeds) ?? []
        }
        let promptGiven = try c.contains(.prompt) && !c.decodeNil(forKey: .prompt)
        prompt = promptEmbeds.isEmpty || promptGiven ? try c.decode(CompletionPrompt.self, forKey: .prompt) : .texts([])
        // vLLM's client examples send prompt="" beside prompt_embeds: no text prompt then.
        if !promptEmbeds.isEmpty, case .texts([""]) = prompt { prompt = .texts([]) }
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        echo = try c.decodeLaxBoolIfPresent(forKey: .echo) ?? false
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        stream = try c.decodeLaxBoolIfPresent(forKey: .stream) ?? false
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        suffix = try c.decodeIfPresent(String.self, forKey: .suffix)
        addSpecialTokens = try c.decodeLaxBoolIfPresent(forKey: .addSpecialTokens) ?? true
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        sampling = try SamplingFields(from: decoder)
        tokenIDs = try TokenIDFields(from: decoder)
    }
}
