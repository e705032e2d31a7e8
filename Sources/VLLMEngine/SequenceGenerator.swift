import VLLMCompute
import VLLMModels
import VLLMTokenizers

/// Generates one sequence at a time on one model: prefill, then decode step by step until EOS
/// or `maxTokens`. (The batched V1 engine core supersedes it for serving.)
public final class SequenceGenerator: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: Tokenizer

    public init(model: LlamaModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Runs the request; `onText` receives each newly completed piece of text (valid UTF-8).
    public func generate(promptTokenIDs prompt: [Int], params: SamplingParams,
                         onText: (String) -> Void = { _ in }) throws -> RequestOutput {
        try params.validate()
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        if let bad = prompt.first(where: { !(0..<model.config.vocabSize).contains($0) }) {
            throw GenerationError.tokenOutOfRange(bad, vocabSize: model.config.vocabSize)
        }
        let limit = model.config.contextLength
        guard prompt.count + params.maxTokens <= limit else {
            throw GenerationError.tooLong(promptTokens: prompt.count, maxTokens: params.maxTokens, limit: limit)
        }
        var rng = SplitMix64(seed: params.seed ?? UInt64.random(in: .min ... .max))
        let cache = SequenceKVCache(config: model.config, capacity: prompt.count + params.maxTokens)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, atSequenceStart: false)
        var out = CompletionOutput(index: 0, text: "", tokenIDs: [], logprobs: params.logprobs.map { _ in [] })
        var logits = model.forward(tokens: prompt, cache: cache)
        while out.finishReason == nil {
            let next = Sampler.sample(logits: logits, params: params, using: &rng)
            out.tokenIDs.append(next)
            if let k = params.logprobs { out.logprobs?.append(Sampler.logprobs(logits: logits, chosen: next, k: k)) }
            let piece = detokenizer.feed(next)
            if !piece.isEmpty { out.text += piece; onText(piece) }
            if next == tokenizer.eosTokenID && !params.ignoreEOS {
                out.finishReason = "stop"
            } else if out.tokenIDs.count >= params.maxTokens {
                out.finishReason = "length"
            } else {
                logits = model.forward(tokens: [next], cache: cache)
            }
        }
        let rest = detokenizer.finish()
        if !rest.isEmpty { out.text += rest; onText(rest) }
        return RequestOutput(promptTokenIDs: prompt, outputs: [out])
    }
}

public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case emptyPrompt
    case tokenOutOfRange(Int, vocabSize: Int)
    case tooLong(promptTokens: Int, maxTokens: Int, limit: Int)

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty (it must contain at least one token)"
        case let .tokenOutOfRange(id, v): "prompt token id \(id) is outside the vocabulary (0..<\(v))"
        case let .tooLong(p, m, l): "prompt (\(p) tokens) plus max_tokens (\(m)) exceeds the model's context length (\(l))"
        }
    }
}
