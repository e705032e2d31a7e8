import VLLM

/// The sampling fields shared by `/v1/completions` and `/v1/chat/completions` (OpenAI's and
/// vLLM's extras: `top_k`, `min_p`, `repetition_penalty`, `best_of`, …), read from the
/// request's top level by `SamplingParams`' own JSON form, so one place knows the keys. Absent
/// and `null` both mean "use the default".
struct SamplingFields: Decodable, Sendable {
    /// The body's sampling values; the `endpointKeys` are left at their defaults.
    var params: SamplingParams
    var priority: Int?

    /// Keys each endpoint reads itself: chat's `logprobs` is a Boolean (with `top_logprobs`)
    /// where completions' is a count; `max_tokens` defaults to the rest of the context (and
    /// chat has `max_completion_tokens`); `detokenize` is no API field (the server needs text
    /// for stop strings, echo and tool calls).
    static let endpointKeys: Set<String> = ["logprobs", "max_tokens", "detokenize"]

    private enum CodingKeys: String, CodingKey { case priority }

    init(from decoder: any Decoder) throws {
        params = try SamplingParams(from: decoder, ignoring: Self.endpointKeys)
        priority = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Int.self, forKey: .priority)
    }

    /// The most choices (or `best_of` candidates) one request may ask for.
    static let maxN = 128

    /// The engine's parameters for a prompt of `promptTokens` tokens.
    ///
    /// `maxTokens` nil takes what is left of the context (`maxModelLen - promptTokens`), as vLLM
    /// does; an explicit value that does not fit is refused with vLLM's context-length message.
    /// `logprobs` is the number of alternatives per step (nil: none); `promptLogprobs` the same
    /// for prompt tokens (the endpoint decides it: `echo` may imply it).
    func samplingParams(maxTokens: Int?, logprobs: Int?, promptLogprobs: Int?, promptTokens: Int, maxModelLen: Int,
                        defaultMaxTokens: Int? = nil) throws -> SamplingParams {
        if let m = maxTokens, m < 1 { throw APIError.badRequest("max_tokens must be at least 1, got \(m).", param: "max_tokens") }
        // Compared without adding: a huge max_tokens must not overflow.
        if let m = maxTokens, m > maxModelLen - promptTokens {
            throw APIError.badRequest("This model's maximum context length is \(maxModelLen) tokens. However, you requested \(promptTokens.addingReportingOverflow(m).partialValue) tokens (\(promptTokens) in the messages, \(m) in the completion). Please reduce the length of the messages or completion.")
        }
        if maxTokens == nil, promptTokens >= maxModelLen {
            throw APIError.badRequest("This model's maximum context length is \(maxModelLen) tokens. However, you requested \(promptTokens) tokens in the messages, Please reduce the length of the messages.")
        }
        // Each choice is an engine request; a runaway n or best_of would only exhaust memory.
        if params.n > Self.maxN {
            throw APIError.badRequest("n must be at most \(Self.maxN), got \(params.n).", param: "n")
        }
        if let b = params.bestOf, b > Self.maxN {
            throw APIError.badRequest("best_of must be at most \(Self.maxN), got \(b).", param: "best_of")
        }
        var p = params
        // The rest of the context, or less when the model's generation config caps it
        // (max_new_tokens, which the defaults carry as maxTokens).
        p.maxTokens = maxTokens ?? min(maxModelLen - promptTokens, defaultMaxTokens ?? .max)
        p.logprobs = logprobs
        p.promptLogprobs = promptLogprobs
        // OpenAI clamps biases to [-100, 100]; vLLM does the same.
        p.logitBias = p.logitBias.mapValues { min(max($0, -100), 100) }
        do { try p.validate() } catch { throw APIError.badRequest(error.description) }
        return p
    }
}
