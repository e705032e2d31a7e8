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

    public init(temperature: Float = 1.0, maxTokens: Int = 16, seed: UInt64? = nil,
                ignoreEOS: Bool = false, logprobs: Int? = nil) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.seed = seed
        self.ignoreEOS = ignoreEOS
        self.logprobs = logprobs
    }

    /// Checks the values a caller may get wrong; the message names the field.
    public func validate() throws(SamplingParamsError) {
        guard temperature.isFinite, temperature >= 0 else { throw .invalid("temperature must be >= 0, got \(temperature)") }
        guard maxTokens >= 1 else { throw .invalid("max_tokens must be at least 1, got \(maxTokens)") }
        if let k = logprobs, k < 0 { throw .invalid("logprobs must be >= 0, got \(k)") }
    }
}

public enum SamplingParamsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { m } else { "" } }
}
