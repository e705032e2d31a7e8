/// The JSON form of `SamplingParams`: vLLM's snake_case keys; a missing key or a null takes
/// vLLM's default. `badWordsTokenIDs` is filled by the engine and is not part of it.
extension SamplingParams: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case n, temperature, seed, stop, logprobs, detokenize
        case bestOf = "best_of", useBeamSearch = "use_beam_search"
        case lengthPenalty = "length_penalty", earlyStopping = "early_stopping"
        case topP = "top_p", topK = "top_k", minP = "min_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repetitionPenalty = "repetition_penalty"
        case stopTokenIDs = "stop_token_ids", includeStopStrInOutput = "include_stop_str_in_output"
        case ignoreEOS = "ignore_eos", maxTokens = "max_tokens", minTokens = "min_tokens"
        case promptLogprobs = "prompt_logprobs", logitBias = "logit_bias"
        case allowedTokenIDs = "allowed_token_ids", badWords = "bad_words"
        case skipSpecialTokens = "skip_special_tokens"
        case spacesBetweenSpecialTokens = "spaces_between_special_tokens"
        case truncatePromptTokens = "truncate_prompt_tokens"
    }

    /// A decoder's `userInfo` entry holding the parameters missing keys take (the model's
    /// generation-config defaults); without it, vLLM's defaults.
    public static let defaultsKey = CodingUserInfoKey(rawValue: "vllm.samplingDefaults")!

    /// The JSON keys, for callers that refuse unknown ones (as vLLM's constructor does).
    public static var jsonKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// Missing keys and nulls take vLLM's defaults; `stop` may be one string or a list; `seed`
    /// a signed 64-bit integer, as vLLM bounds it (the random stream takes its bits).
    public init(from decoder: any Decoder) throws { try self.init(from: decoder, ignoring: []) }

    /// vLLM's seed field: an integer in the signed 64-bit range, which pydantic checks with
    /// `ge`/`le` (its error types named in the message, as clients match on them).
    private static func readSeed(_ c: KeyedDecodingContainer<CodingKeys>, ignoring: Set<String>) throws -> UInt64? {
        guard !ignoring.contains(CodingKeys.seed.rawValue), c.contains(.seed), try !c.decodeNil(forKey: .seed) else { return nil }
        if let s = try? c.decode(Int64.self, forKey: .seed) { return UInt64(bitPattern: s) }
        if let big = try? c.decode(Double.self, forKey: .seed), big.rounded() == big {
            let message = big > 0
                ? "Input should be less than or equal to \(Int64.max) (less_than_equal)"
                : "Input should be greater than or equal to \(Int64.min) (greater_than_equal)"
            throw DecodingError.dataCorruptedError(forKey: .seed, in: c, debugDescription: message)
        }
        return UInt64(bitPattern: try c.decode(Int64.self, forKey: .seed))
    }

    /// As `init(from:)`, leaving the `ignoring` keys at their defaults: for JSON that gives
    /// some keys another meaning (the OpenAI server's chat `logprobs` is a Boolean) and reads
    /// them itself.
    public init(from decoder: any Decoder, ignoring: Set<String>) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = decoder.userInfo[Self.defaultsKey] as? SamplingParams ?? SamplingParams()
        func read<T: Decodable>(_ key: CodingKeys) throws -> T? {
            ignoring.contains(key.rawValue) ? nil : try c.decodeIfPresent(T.self, forKey: key)
        }
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try read(key) ?? fallback }
        n = try get(.n, d.n)
        bestOf = try read(.bestOf)
        useBeamSearch = try get(.useBeamSearch, d.useBeamSearch)
        lengthPenalty = try get(.lengthPenalty, d.lengthPenalty)
        earlyStopping = try get(.earlyStopping, d.earlyStopping)
        temperature = try get(.temperature, d.temperature)
        topP = try get(.topP, d.topP)
        topK = try get(.topK, d.topK)
        minP = try get(.minP, d.minP)
        presencePenalty = try get(.presencePenalty, d.presencePenalty)
        frequencyPenalty = try get(.frequencyPenalty, d.frequencyPenalty)
        repetitionPenalty = try get(.repetitionPenalty, d.repetitionPenalty)
        seed = try Self.readSeed(c, ignoring: ignoring)
        if let one = try? read(.stop) as String? { stop = [one] } else { stop = try get(.stop, d.stop) }
        stopTokenIDs = try get(.stopTokenIDs, d.stopTokenIDs)
        includeStopStrInOutput = try get(.includeStopStrInOutput, d.includeStopStrInOutput)
        ignoreEOS = try get(.ignoreEOS, d.ignoreEOS)
        maxTokens = try get(.maxTokens, d.maxTokens)
        minTokens = try get(.minTokens, d.minTokens)
        logprobs = try read(.logprobs)
        promptLogprobs = try read(.promptLogprobs)
        logitBias = try get(.logitBias, d.logitBias)
        allowedTokenIDs = try read(.allowedTokenIDs)
        badWords = try get(.badWords, d.badWords)
        skipSpecialTokens = try get(.skipSpecialTokens, d.skipSpecialTokens)
        spacesBetweenSpecialTokens = try get(.spacesBetweenSpecialTokens, d.spacesBetweenSpecialTokens)
        detokenize = try get(.detokenize, d.detokenize)
        truncatePromptTokens = try read(.truncatePromptTokens)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encodeIfPresent(bestOf, forKey: .bestOf)
        try c.encode(useBeamSearch, forKey: .useBeamSearch)
        try c.encode(lengthPenalty, forKey: .lengthPenalty)
        try c.encode(earlyStopping, forKey: .earlyStopping)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(topP, forKey: .topP)
        try c.encode(topK, forKey: .topK)
        try c.encode(minP, forKey: .minP)
        try c.encode(presencePenalty, forKey: .presencePenalty)
        try c.encode(frequencyPenalty, forKey: .frequencyPenalty)
        try c.encode(repetitionPenalty, forKey: .repetitionPenalty)
        try c.encodeIfPresent(seed.map { Int64(bitPattern: $0) }, forKey: .seed)
        try c.encode(stop, forKey: .stop)
        try c.encode(stopTokenIDs, forKey: .stopTokenIDs)
        try c.encode(includeStopStrInOutput, forKey: .includeStopStrInOutput)
        try c.encode(ignoreEOS, forKey: .ignoreEOS)
        try c.encode(maxTokens, forKey: .maxTokens)
        try c.encode(minTokens, forKey: .minTokens)
        try c.encodeIfPresent(logprobs, forKey: .logprobs)
        try c.encodeIfPresent(promptLogprobs, forKey: .promptLogprobs)
        try c.encode(logitBias, forKey: .logitBias)
        try c.encodeIfPresent(allowedTokenIDs, forKey: .allowedTokenIDs)
        try c.encode(badWords, forKey: .badWords)
        try c.encode(skipSpecialTokens, forKey: .skipSpecialTokens)
        try c.encode(spacesBetweenSpecialTokens, forKey: .spacesBetweenSpecialTokens)
        try c.encode(detokenize, forKey: .detokenize)
        try c.encodeIfPresent(truncatePromptTokens, forKey: .truncatePromptTokens)
    }
}

/// When beam search (the older `use_beam_search` form) stops, with vLLM's values for
/// `early_stopping`: `true`, `false` or `"never"`. A Boolean literal works in Swift too.
public enum EarlyStopping: Sendable, Equatable, Codable, ExpressibleByBooleanLiteral {
    /// `true`: stop as soon as `best_of` beams are complete.
    case whenComplete
    /// `false`: stop when the best running beam, scored at its current length, can no longer
    /// beat the worst of the `best_of` complete ones (a heuristic).
    case heuristic
    /// `"never"`: stop only when no running beam could beat them at any length it may reach.
    case never

    public init(booleanLiteral value: Bool) { self = value ? .whenComplete : .heuristic }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = b ? .whenComplete : .heuristic; return }
        if let s = try? c.decode(String.self), s == "never" { self = .never; return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "early_stopping must be true, false or \"never\"")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .whenComplete: try c.encode(true)
        case .heuristic: try c.encode(false)
        case .never: try c.encode("never")
        }
    }
}
