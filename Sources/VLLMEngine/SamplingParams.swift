/// How to pick tokens for one request (vLLM's `SamplingParams`). Defaults are vLLM 0.11's; the
/// JSON form uses vLLM's snake_case keys and a missing key takes the default.
public struct SamplingParams: Sendable, Equatable, Codable {
    /// Completions to generate for the prompt.
    public var n = 1
    /// 0 means greedy. Positive values below 0.01 are raised to 0.01 by the sampler, as vLLM does.
    public var temperature: Float = 1.0
    /// Nucleus sampling: keep the most likely tokens whose mass reaches `topP` (1 = off).
    public var topP: Float = 1.0
    /// Keep the `topK` most likely tokens (ties at the boundary kept); 0 or -1 = off.
    public var topK: Int = 0
    /// Drop tokens whose probability is below `minP` times the most likely token's (0 = off).
    public var minP: Float = 0
    /// Subtracted from the logit of every token that occurs in the output so far.
    public var presencePenalty: Float = 0
    /// Subtracted once per occurrence in the output so far.
    public var frequencyPenalty: Float = 0
    /// Tokens of the prompt or the output: positive logits divided by it, negative multiplied.
    public var repetitionPenalty: Float = 1.0
    /// Seed for this request's random stream; nil draws one.
    public var seed: UInt64?
    /// Strings that end the completion. The scheduler never sees text: the output processor
    /// (detokenizer) finds them and aborts the request.
    public var stop: [String] = []
    /// Token ids that end the completion (the token itself is kept in the output, as in vLLM).
    public var stopTokenIDs: [Int] = []
    /// Keep the matched stop string at the end of the text.
    public var includeStopStrInOutput = false
    /// Keep generating after EOS (EOS itself stays samplable, as in vLLM).
    public var ignoreEOS = false
    /// Tokens to generate at most.
    public var maxTokens: Int = 16
    /// Tokens to generate before EOS, `stopTokenIDs` or stop strings may end the completion
    /// (EOS and the stop token ids are masked until then).
    public var minTokens: Int = 0
    /// Return the chosen token's logprob plus the top-`logprobs` alternatives at each step.
    public var logprobs: Int?
    /// Top alternatives to return for each prompt token.
    public var promptLogprobs: Int?
    /// Added to the logits of these token ids before sampling.
    public var logitBias: [Int: Float] = [:]
    /// Only these token ids may be sampled (nil = all).
    public var allowedTokenIDs: [Int]?
    /// Words that must not be generated: the engine tokenizes each (as is and with a leading
    /// space) into `badWordsTokenIDs`, and the sampler bans a word's last token whenever the
    /// output ends with the rest of it.
    public var badWords: [String] = []
    /// `badWords` as token sequences, filled by the engine (not part of the JSON form).
    public var badWordsTokenIDs: [[Int]] = []
    public var skipSpecialTokens = true
    public var spacesBetweenSpecialTokens = true
    /// Produce text; stop strings need it.
    public var detokenize = true

    public init(temperature: Float = 1.0, topP: Float = 1.0, topK: Int = 0, minP: Float = 0,
                presencePenalty: Float = 0, frequencyPenalty: Float = 0, repetitionPenalty: Float = 1.0,
                maxTokens: Int = 16, minTokens: Int = 0, seed: UInt64? = nil, ignoreEOS: Bool = false,
                logprobs: Int? = nil, promptLogprobs: Int? = nil, n: Int = 1,
                stop: [String] = [], stopTokenIDs: [Int] = [], includeStopStrInOutput: Bool = false,
                logitBias: [Int: Float] = [:], allowedTokenIDs: [Int]? = nil, badWords: [String] = [],
                skipSpecialTokens: Bool = true, spacesBetweenSpecialTokens: Bool = true, detokenize: Bool = true) {
        self.n = n
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.repetitionPenalty = repetitionPenalty
        self.maxTokens = maxTokens
        self.minTokens = minTokens
        self.seed = seed
        self.ignoreEOS = ignoreEOS
        self.logprobs = logprobs
        self.promptLogprobs = promptLogprobs
        self.stop = stop
        self.stopTokenIDs = stopTokenIDs
        self.includeStopStrInOutput = includeStopStrInOutput
        self.logitBias = logitBias
        self.allowedTokenIDs = allowedTokenIDs
        self.badWords = badWords
        self.skipSpecialTokens = skipSpecialTokens
        self.spacesBetweenSpecialTokens = spacesBetweenSpecialTokens
        self.detokenize = detokenize
    }

    /// The sampling-relevant flags: penalties that need the token history.
    var usesPenalties: Bool { presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1 }

    /// Checks the values a caller may get wrong, with vLLM's rules; the message names the field.
    /// With `vocabSize`, token ids in `logitBias` and `allowedTokenIDs` are checked too.
    public func validate(vocabSize: Int? = nil) throws(SamplingParamsError) {
        guard n >= 1 else { throw .invalid("n must be at least 1, got \(n).") }
        guard presencePenalty >= -2, presencePenalty <= 2 else {
            throw .invalid("presence_penalty must be in [-2, 2], got \(presencePenalty).")
        }
        guard frequencyPenalty >= -2, frequencyPenalty <= 2 else {
            throw .invalid("frequency_penalty must be in [-2, 2], got \(frequencyPenalty).")
        }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw .invalid("repetition_penalty must be greater than zero, got \(repetitionPenalty).")
        }
        guard temperature.isFinite, temperature >= 0 else {
            throw .invalid("temperature must be non-negative, got \(temperature).")
        }
        guard topP > 0, topP <= 1 else { throw .invalid("top_p must be in (0, 1], got \(topP).") }
        guard topK >= -1 else { throw .invalid("top_k must be 0 (disable), or at least 1, got \(topK).") }
        guard minP >= 0, minP <= 1 else { throw .invalid("min_p must be in [0, 1], got \(minP).") }
        guard maxTokens >= 1 else { throw .invalid("max_tokens must be at least 1, got \(maxTokens).") }
        guard minTokens >= 0 else {
            throw .invalid("min_tokens must be greater than or equal to 0, got \(minTokens).")
        }
        guard minTokens <= maxTokens else {
            throw .invalid("min_tokens must be less than or equal to max_tokens=\(maxTokens), got \(minTokens).")
        }
        if let k = logprobs, k < 0 { throw .invalid("logprobs must be non-negative, got \(k).") }
        if let k = promptLogprobs, k < 0 { throw .invalid("prompt_logprobs must be non-negative, got \(k).") }
        if stop.contains("") { throw .invalid("stop cannot contain an empty string.") }
        if !stop.isEmpty && !detokenize {
            throw .invalid("stop strings are only supported when detokenize is True. Set detokenize=True to use stop.")
        }
        if let ids = allowedTokenIDs, ids.isEmpty { throw .invalid("allowed_token_ids is not None and empty!") }
        if let v = vocabSize {
            if topK > v { throw .invalid("top_k cannot be greater than vocabulary size(\(v)), but got \(topK).") }
            let badBias = logitBias.keys.filter { !(0..<v).contains($0) }.sorted()
            if !badBias.isEmpty {
                throw .invalid("token_id(s) \(badBias) in logit_bias contain out-of-vocab token ids. Vocabulary size: \(v)")
            }
            if let ids = allowedTokenIDs, ids.contains(where: { !(0..<v).contains($0) }) {
                throw .invalid("allowed_token_ids contains out-of-vocab token id!")
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case n, temperature, seed, stop, logprobs, detokenize
        case topP = "top_p", topK = "top_k", minP = "min_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repetitionPenalty = "repetition_penalty"
        case stopTokenIDs = "stop_token_ids", includeStopStrInOutput = "include_stop_str_in_output"
        case ignoreEOS = "ignore_eos", maxTokens = "max_tokens", minTokens = "min_tokens"
        case promptLogprobs = "prompt_logprobs", logitBias = "logit_bias"
        case allowedTokenIDs = "allowed_token_ids", badWords = "bad_words"
        case skipSpecialTokens = "skip_special_tokens"
        case spacesBetweenSpecialTokens = "spaces_between_special_tokens"
    }

    /// Missing keys and nulls take vLLM's defaults; `stop` may be one string or a list.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SamplingParams()
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        n = try get(.n, d.n)
        temperature = try get(.temperature, d.temperature)
        topP = try get(.topP, d.topP)
        topK = try get(.topK, d.topK)
        minP = try get(.minP, d.minP)
        presencePenalty = try get(.presencePenalty, d.presencePenalty)
        frequencyPenalty = try get(.frequencyPenalty, d.frequencyPenalty)
        repetitionPenalty = try get(.repetitionPenalty, d.repetitionPenalty)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        if let one = try? c.decodeIfPresent(String.self, forKey: .stop) { stop = [one] } else { stop = try get(.stop, d.stop) }
        stopTokenIDs = try get(.stopTokenIDs, d.stopTokenIDs)
        includeStopStrInOutput = try get(.includeStopStrInOutput, d.includeStopStrInOutput)
        ignoreEOS = try get(.ignoreEOS, d.ignoreEOS)
        maxTokens = try get(.maxTokens, d.maxTokens)
        minTokens = try get(.minTokens, d.minTokens)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        promptLogprobs = try c.decodeIfPresent(Int.self, forKey: .promptLogprobs)
        logitBias = try get(.logitBias, d.logitBias)
        allowedTokenIDs = try c.decodeIfPresent([Int].self, forKey: .allowedTokenIDs)
        badWords = try get(.badWords, d.badWords)
        skipSpecialTokens = try get(.skipSpecialTokens, d.skipSpecialTokens)
        spacesBetweenSpecialTokens = try get(.spacesBetweenSpecialTokens, d.spacesBetweenSpecialTokens)
        detokenize = try get(.detokenize, d.detokenize)
    }

    /// vLLM's `update_from_tokenizer`: each bad word as is, and with a leading space when that
    /// gives a different first token and as many tokens.
    public mutating func tokenizeBadWords(_ encode: (String) -> [Int]) {
        badWordsTokenIDs = []
        for word in badWords {
            let trimmed = String(word.drop { $0 == " " || $0 == "\t" || $0 == "\n" })
            let plain = encode(trimmed)
            if !plain.isEmpty { badWordsTokenIDs.append(plain) }
            let spaced = encode(" " + trimmed)
            if !spaced.isEmpty, let last = badWordsTokenIDs.last, spaced[0] != last[0], spaced.count == last.count {
                badWordsTokenIDs.append(spaced)
            }
        }
    }
}

public enum SamplingParamsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { m } else { "" } }
}
