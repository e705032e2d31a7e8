import VLLM

/// The sampling fields shared by `/v1/completions` and `/v1/chat/completions`: OpenAI's and
/// vLLM's extras (`top_k`, `min_p`, `repetition_penalty`, …), read from the request's top level.
/// Absent and `null` both mean "use the default".
struct SamplingFields: Decodable, Sendable {
    var n: Int?
    var temperature: Float?
    var topP: Float?
    var topK: Int?
    var minP: Float?
    var presencePenalty: Float?
    var frequencyPenalty: Float?
    var repetitionPenalty: Float?
    var seed: Int?
    var stop: [String]?
    var stopTokenIDs: [Int]?
    var includeStopStrInOutput: Bool?
    var ignoreEOS: Bool?
    var minTokens: Int?
    var logitBias: [String: Float]?
    var allowedTokenIDs: [Int]?
    var badWords: [String]?
    var skipSpecialTokens: Bool?
    var spacesBetweenSpecialTokens: Bool?
    var bestOf: Int?
    var promptLogprobs: Int?
    var priority: Int?

    enum CodingKeys: String, CodingKey {
        case n, temperature, seed, stop, priority
        case topP = "top_p", topK = "top_k", minP = "min_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repetitionPenalty = "repetition_penalty"
        case stopTokenIDs = "stop_token_ids", includeStopStrInOutput = "include_stop_str_in_output"
        case ignoreEOS = "ignore_eos", minTokens = "min_tokens", logitBias = "logit_bias"
        case allowedTokenIDs = "allowed_token_ids", badWords = "bad_words"
        case skipSpecialTokens = "skip_special_tokens", spacesBetweenSpecialTokens = "spaces_between_special_tokens"
        case bestOf = "best_of", promptLogprobs = "prompt_logprobs"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Float.self, forKey: .topP)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        minP = try c.decodeIfPresent(Float.self, forKey: .minP)
        presencePenalty = try c.decodeIfPresent(Float.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Float.self, forKey: .frequencyPenalty)
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        // OpenAI's `stop` is one string or a list of them.
        if let one = try? c.decodeIfPresent(String.self, forKey: .stop) {
            stop = [one]
        } else {
            stop = try c.decodeIfPresent([String].self, forKey: .stop)
        }
        stopTokenIDs = try c.decodeIfPresent([Int].self, forKey: .stopTokenIDs)
        includeStopStrInOutput = try c.decodeIfPresent(Bool.self, forKey: .includeStopStrInOutput)
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: .ignoreEOS)
        minTokens = try c.decodeIfPresent(Int.self, forKey: .minTokens)
        logitBias = try c.decodeIfPresent([String: Float].self, forKey: .logitBias)
        allowedTokenIDs = try c.decodeIfPresent([Int].self, forKey: .allowedTokenIDs)
        badWords = try c.decodeIfPresent([String].self, forKey: .badWords)
        skipSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .skipSpecialTokens)
        spacesBetweenSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .spacesBetweenSpecialTokens)
        bestOf = try c.decodeIfPresent(Int.self, forKey: .bestOf)
        promptLogprobs = try c.decodeIfPresent(Int.self, forKey: .promptLogprobs)
        priority = try c.decodeIfPresent(Int.self, forKey: .priority)
    }

    /// The most choices one request may ask for.
    static let maxN = 128

    /// The engine's parameters for a prompt of `promptTokens` tokens.
    ///
    /// `maxTokens` nil takes what is left of the context (`maxModelLen - promptTokens`), as vLLM
    /// does; an explicit value that does not fit is refused with vLLM's context-length message.
    /// `logprobs` is the number of alternatives per step (nil: none); `promptLogprobs` the same
    /// for prompt tokens (the endpoint decides it: `echo` may imply it).
    func samplingParams(maxTokens: Int?, logprobs: Int?, promptLogprobs: Int?, promptTokens: Int, maxModelLen: Int) throws -> SamplingParams {
        if let m = maxTokens, m < 1 { throw APIError.badRequest("max_tokens must be at least 1, got \(m).", param: "max_tokens") }
        // Compared without adding: a huge max_tokens must not overflow.
        if let m = maxTokens, m > maxModelLen - promptTokens {
            throw APIError.badRequest("This model's maximum context length is \(maxModelLen) tokens. However, you requested \(promptTokens.addingReportingOverflow(m).partialValue) tokens (\(promptTokens) in the messages, \(m) in the completion). Please reduce the length of the messages or completion.")
        }
        if maxTokens == nil, promptTokens >= maxModelLen {
            throw APIError.badRequest("This model's maximum context length is \(maxModelLen) tokens. However, you requested \(promptTokens) tokens in the messages, Please reduce the length of the messages.")
        }
        // Each choice is an engine request; a runaway n would only exhaust memory.
        if let n, n > Self.maxN {
            throw APIError.badRequest("n must be at most \(Self.maxN), got \(n).", param: "n")
        }
        if let b = bestOf, b > Self.maxN {
            throw APIError.badRequest("best_of must be at most \(Self.maxN), got \(b).", param: "best_of")
        }
        let d = SamplingParams()
        var p = SamplingParams()
        p.n = n ?? d.n
        p.temperature = temperature ?? d.temperature
        p.topP = topP ?? d.topP
        p.topK = topK ?? d.topK
        p.minP = minP ?? d.minP
        p.presencePenalty = presencePenalty ?? d.presencePenalty
        p.frequencyPenalty = frequencyPenalty ?? d.frequencyPenalty
        p.repetitionPenalty = repetitionPenalty ?? d.repetitionPenalty
        // OpenAI seeds are signed 64-bit; the engine's stream takes the same bits.
        p.seed = seed.map { UInt64(bitPattern: Int64($0)) }
        p.stop = stop ?? []
        p.stopTokenIDs = stopTokenIDs ?? []
        p.includeStopStrInOutput = includeStopStrInOutput ?? d.includeStopStrInOutput
        p.ignoreEOS = ignoreEOS ?? d.ignoreEOS
        p.minTokens = minTokens ?? d.minTokens
        p.maxTokens = maxTokens ?? (maxModelLen - promptTokens)
        p.logprobs = logprobs
        p.promptLogprobs = promptLogprobs
        p.bestOf = bestOf
        p.allowedTokenIDs = allowedTokenIDs
        p.badWords = badWords ?? []
        p.skipSpecialTokens = skipSpecialTokens ?? d.skipSpecialTokens
        p.spacesBetweenSpecialTokens = spacesBetweenSpecialTokens ?? d.spacesBetweenSpecialTokens
        var bias: [Int: Float] = [:]
        for (key, value) in logitBias ?? [:] {
            guard let id = Int(key) else {
                throw APIError.badRequest("logit_bias keys must be token ids, got '\(key)'.", param: "logit_bias")
            }
            // OpenAI clamps biases to [-100, 100]; vLLM does the same.
            bias[id] = min(max(value, -100), 100)
        }
        p.logitBias = bias
        do { try p.validate() } catch { throw APIError.badRequest(error.description) }
        return p
    }
}
