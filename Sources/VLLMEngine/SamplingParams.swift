/// How to pick tokens for one request (vLLM's `SamplingParams`; more fields arrive with the
/// sampling work). Defaults are vLLM's.
public struct SamplingParams: Sendable, Equatable, Codable {
    /// 0 means greedy.
    public var temperature: Float = 1.0
    /// Tokens to generate at most.
    public var maxTokens: Int = 16
    /// Seed for this request's random stream; nil draws one.
    public var seed: UInt64?
    /// Keep generating after EOS (EOS itself stays samplable, as in vLLM).
    public var ignoreEOS = false
    /// Return the chosen token's logprob plus the top-`logprobs` alternatives at each step.
    public var logprobs: Int?
    /// Completions to generate for the prompt.
    public var n = 1
    /// Strings that end the completion. The scheduler never sees text: the output processor
    /// (detokenizer) finds them and aborts the request.
    public var stop: [String] = []
    /// Token ids that end the completion (the token itself is kept in the output, as in vLLM).
    public var stopTokenIDs: [Int] = []

    public init(temperature: Float = 1.0, maxTokens: Int = 16, seed: UInt64? = nil,
                ignoreEOS: Bool = false, logprobs: Int? = nil, n: Int = 1,
                stop: [String] = [], stopTokenIDs: [Int] = []) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.seed = seed
        self.ignoreEOS = ignoreEOS
        self.logprobs = logprobs
        self.n = n
        self.stop = stop
        self.stopTokenIDs = stopTokenIDs
    }

    /// Checks the values a caller may get wrong; the message names the field.
    public func validate() throws(SamplingParamsError) {
        guard temperature.isFinite, temperature >= 0 else { throw .invalid("temperature must be >= 0, got \(temperature)") }
        guard maxTokens >= 1 else { throw .invalid("max_tokens must be at least 1, got \(maxTokens)") }
        if let k = logprobs, k < 0 { throw .invalid("logprobs must be >= 0, got \(k)") }
        guard n >= 1 else { throw .invalid("n must be at least 1, got \(n)") }
    }
}

public enum SamplingParamsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { m } else { "" } }
}
