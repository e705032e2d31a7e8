import Foundation

/// Parameters of `LLM.beamSearch` (vLLM 0.11's `BeamSearchParams`).
public struct BeamSearchParams: Sendable, Equatable {
    /// Beams kept after every step.
    public var beamWidth: Int
    /// Tokens to generate at most.
    public var maxTokens: Int
    /// Keep extending beams that produce EOS instead of completing them.
    public var ignoreEOS: Bool
    /// Accepted for vLLM compatibility. Beam scores use the raw model logprobs (vLLM V1's
    /// default `logprobs_mode`), so, as there, it does not change the result.
    public var temperature: Float
    /// A sequence's score is cumulative logprob / length^lengthPenalty (length counts the
    /// prompt and the generated tokens, not a final EOS: vLLM's `get_beam_search_score`).
    public var lengthPenalty: Float

    public init(beamWidth: Int, maxTokens: Int, ignoreEOS: Bool = false, temperature: Float = 0,
                lengthPenalty: Float = 1.0) {
        self.beamWidth = beamWidth
        self.maxTokens = maxTokens
        self.ignoreEOS = ignoreEOS
        self.temperature = temperature
        self.lengthPenalty = lengthPenalty
    }

    /// Checks the values, naming the field as vLLM does.
    public func validate() throws(SamplingParamsError) {
        guard beamWidth >= 1 else { throw .invalid("beam_width must be at least 1, got \(beamWidth).") }
        guard maxTokens >= 1 else { throw .invalid("max_tokens must be at least 1, got \(maxTokens).") }
        guard temperature.isFinite, temperature >= 0 else {
            throw .invalid("temperature must be non-negative, got \(temperature).")
        }
        guard lengthPenalty.isFinite else { throw .invalid("length_penalty must be finite, got \(lengthPenalty).") }
    }
}

/// One sequence found by beam search (vLLM's `BeamSearchSequence`).
public struct BeamSearchSequence: Sendable {
    /// Prompt tokens followed by the generated ones, as vLLM reports them.
    public var tokens: [Int]
    /// The generated text (the prompt is not repeated).
    public var text: String
    /// Sum of the raw logprobs of the generated tokens.
    public var cumulativeLogprob: Double
    /// The length-penalized score the sequences are sorted by.
    public var score: Double
    /// "stop" when the beam ended with EOS (or a stop token id), else "length".
    public var finishReason: String

    public init(tokens: [Int], text: String, cumulativeLogprob: Double, score: Double, finishReason: String) {
        self.tokens = tokens
        self.text = text
        self.cumulativeLogprob = cumulativeLogprob
        self.score = score
        self.finishReason = finishReason
    }
}

/// The result of beam search for one prompt: the best sequences, best first.
public struct BeamSearchOutput: Sendable {
    public var sequences: [BeamSearchSequence]
    public init(sequences: [BeamSearchSequence]) { self.sequences = sequences }
}

extension SamplingParams {
    /// vLLM V0's beam-search rules for the older form, and its refusals of beam-only fields
    /// on sampling requests.
    func validateBeamSearch() throws(SamplingParamsError) {
        guard lengthPenalty.isFinite else { throw .invalid("length_penalty must be finite, got \(lengthPenalty).") }
        guard isBeamSearch else {
            if earlyStopping != .heuristic {
                throw .invalid("early_stopping is not effective and must be False when not using beam search.")
            }
            if abs(lengthPenalty - 1) > 1e-5 {
                throw .invalid("length_penalty is not effective and must be the default value of 1.0 when not using beam search.")
            }
            return
        }
        guard numCandidates > 1 else {
            throw .invalid("best_of must be greater than 1 when using beam search. Got \(numCandidates).")
        }
        guard temperature < 1e-5 else { throw .invalid("temperature must be 0 when using beam search.") }
        guard topP > 1 - 1e-5 else { throw .invalid("top_p must be 1 when using beam search.") }
        guard topK <= 0 else { throw .invalid("top_k must be -1 when using beam search.") }
    }
}

/// vLLM's `get_beam_search_score`: cumulative logprob / length^lengthPenalty, where the length
/// counts every token of the sequence (prompt included) except a final EOS.
public func beamSearchScore(length: Int, endsWithEOS: Bool, cumulativeLogprob: Double, lengthPenalty: Float) -> Double {
    let len = Double(max(1, endsWithEOS ? length - 1 : length))
    return cumulativeLogprob / pow(len, Double(lengthPenalty))
}
