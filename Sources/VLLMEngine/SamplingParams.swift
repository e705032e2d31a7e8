import VLLMStructuredOutput

/// How to pick tokens for one request (vLLM's `SamplingParams`). Defaults are vLLM 0.11's; the
/// JSON form uses vLLM's snake_case keys and a missing key takes the default.
public struct SamplingParams: Sendable, Equatable {
    /// Completions to return for the prompt.
    public var n = 1
    /// With sampling: candidates generated, of which the `n` with the highest cumulative
    /// logprob are returned (nil means `n`; such requests report only their final output). With
    /// beam search: the beam width.
    public var bestOf: Int?
    /// The older beam-search form (vLLM V0, and the OpenAI server's extra field): beam search
    /// of width `bestOf`, returning the `n` best beams. Temperature 0 with `bestOf > 1` means
    /// beam search too (see `isBeamSearch`).
    public var useBeamSearch = false
    /// Beam search: a beam's score is its cumulative logprob / length^lengthPenalty.
    public var lengthPenalty: Float = 1.0
    /// Beam search: when to stop (see `EarlyStopping`).
    public var earlyStopping: EarlyStopping = .heuristic
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
    /// Top alternatives to return for each prompt token (with the token's own logprob; the
    /// first prompt token has none). Such requests compute their whole prompt: prefix-cache
    /// hits are not used for them, as in vLLM.
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
    /// Leave special (control) tokens such as `<|im_end|>` out of the text (token ids keep them).
    public var skipSpecialTokens = true
    /// Accepted for vLLM compatibility; no effect on our tokenizers. vLLM's fast (Rust
    /// `tokenizers`) detokenizer, which it uses for GGUF tokenizers, puts no spaces around
    /// special tokens either way with byte-level BPE; the spaces this flag names are added only
    /// by Hugging Face's slow Python tokenizers.
    public var spacesBetweenSpecialTokens = true
    /// Produce text; false leaves every text empty (token ids only) and stop strings are refused.
    public var detokenize = true
    /// Keep only the last this-many prompt tokens (-1: the last `max_model_len`); nil keeps all.
    public var truncatePromptTokens: Int?
    /// Constrains the output to a JSON schema, regex, choice or grammar (vLLM's
    /// `structured_outputs`); nil: unconstrained. Ignored by beam search, as in vLLM.
    public var structuredOutputs: StructuredOutputsParams?

    public init(temperature: Float = 1.0, topP: Float = 1.0, topK: Int = 0, minP: Float = 0,
                presencePenalty: Float = 0, frequencyPenalty: Float = 0, repetitionPenalty: Float = 1.0,
                maxTokens: Int = 16, minTokens: Int = 0, seed: UInt64? = nil, ignoreEOS: Bool = false,
                logprobs: Int? = nil, promptLogprobs: Int? = nil, n: Int = 1, bestOf: Int? = nil,
                useBeamSearch: Bool = false, lengthPenalty: Float = 1.0, earlyStopping: EarlyStopping = .heuristic,
                stop: [String] = [], stopTokenIDs: [Int] = [], includeStopStrInOutput: Bool = false,
                logitBias: [Int: Float] = [:], allowedTokenIDs: [Int]? = nil, badWords: [String] = [],
                skipSpecialTokens: Bool = true, spacesBetweenSpecialTokens: Bool = true, detokenize: Bool = true) {
        self.n = n
        self.bestOf = bestOf
        self.useBeamSearch = useBeamSearch
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = earlyStopping
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

    /// Beam search runs when asked for, or for greedy decoding with `bestOf > 1` (which vLLM V0
    /// refused; the seed document gives it this meaning).
    public var isBeamSearch: Bool { useBeamSearch || (temperature == 0 && (bestOf ?? 1) > 1) }

    /// Engine requests generated for the prompt: `bestOf` (default `n`) candidates, or the
    /// beam width for beam search.
    public var numCandidates: Int { bestOf ?? n }

    /// The sampling-relevant flags: penalties that need the token history.
    var usesPenalties: Bool { presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1 }

    /// Checks the values a caller may get wrong, with vLLM's rules; the message names the field.
    /// With `vocabSize`, token ids in `logitBias` and `allowedTokenIDs` are checked too.
    public func validate(vocabSize: Int? = nil) throws(SamplingParamsError) {
        guard n >= 1 else { throw .invalid("n must be at least 1, got \(n).") }
        if let b = bestOf, b < n {
            throw .invalid("best_of must be greater than or equal to n, got n=\(n) and best_of=\(b).")
        }
        try validateBeamSearch()
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
        if let so = structuredOutputs {
            do { _ = try so.spec() } catch { throw .invalid(error.message) }
        }
        if let k = truncatePromptTokens, k < 1 && k != -1 {
            throw .invalid("truncate_prompt_tokens must be at least 1 or -1 (keep the last max_model_len tokens), got \(k).")
        }
        try validateSizes()
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

    /// Caps on the list-valued fields: the sampler or the detokenizer looks at each entry on
    /// every step, so their size is work per step, not just memory.
    public enum Limits {
        public static let stopStrings = 128
        public static let stopStringLength = 1024
        public static let stopTokenIDs = 1024
        public static let logitBias = 4096
        public static let badWords = 128
        public static let badWordLength = 256
    }

    private func validateSizes() throws(SamplingParamsError) {
        func atMost(_ count: Int, _ limit: Int, _ field: String, _ what: String = "entries") throws(SamplingParamsError) {
            if count > limit { throw .invalid("\(field) may have at most \(limit) \(what), got \(count).") }
        }
        try atMost(stop.count, Limits.stopStrings, "stop")
        try atMost(stop.map(\.count).max() ?? 0, Limits.stopStringLength, "each stop string", "characters")
        try atMost(stopTokenIDs.count, Limits.stopTokenIDs, "stop_token_ids")
        try atMost(logitBias.count, Limits.logitBias, "logit_bias")
        try atMost(badWords.count, Limits.badWords, "bad_words")
        try atMost(badWords.map(\.count).max() ?? 0, Limits.badWordLength, "each bad word", "characters")
    }

    /// `truncatePromptTokens` applied to a prompt (vLLM keeps the prompt's end).
    public func truncatedPrompt(_ ids: [Int], maxModelLen: Int) throws(SamplingParamsError) -> [Int] {
        guard let k = truncatePromptTokens else { return ids }
        let keep = k == -1 ? maxModelLen : k
        guard keep <= maxModelLen else {
            throw .invalid("truncate_prompt_tokens value (\(k)) is greater than max_model_len (\(maxModelLen)). Please select a smaller truncation size.")
        }
        return Array(ids.suffix(keep))
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
