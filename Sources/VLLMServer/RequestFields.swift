import Foundation
import VLLM

/// What happens to body fields the server does not read. vLLM's request models accept unknown
/// fields and log them as ignored; we do the same, except for fields vLLM 0.11 gives a meaning
/// that we have not built yet: ignoring those would answer as if a constraint (a JSON schema,
/// a regex, a logits processor) had been applied when it was not, so they get a 400 naming
/// the field.
enum RequestFields {
    /// vLLM 0.11 request fields not implemented here, with what they ask for.
    static let unsupported: [String: String] = [
        "structural_tag": "structural-tag structured outputs",
        "logits_processors": "custom logits processors",
        "vllm_xargs": "extra arguments for custom logits processors",
        "mm_processor_kwargs": "multimodal inputs",
        "cache_salt": "prefix-cache salting",
    ]

    /// Fields each endpoint reads (besides the sampling fields), and OpenAI fields that carry no
    /// meaning for generation here (`user`, `store`, …), which are accepted without a warning.
    /// Structured-output fields (both endpoints; `StructuredOutputFields` reads them). The
    /// backend choice and whitespace pattern are accepted and ignored, as vLLM does.
    private static let tokenIDKeys: Set<String> = ["return_token_ids", "return_tokens_as_token_ids"]
    private static let structuredOutputKeys: Set<String> = [
        "response_format", "structured_outputs", "guided_json", "guided_regex", "guided_choice", "guided_grammar",
        "guided_decoding_backend", "guided_whitespace_pattern",
    ]

    private static let read: [GenerationEndpoint: Set<String>] = [
        .completions: ["model", "prompt", "max_tokens", "echo", "logprobs", "stream", "stream_options", "suffix",
                       "add_special_tokens", "request_id", "priority", "response_format", "user", "prompt_embeds"],
        .chatCompletions: ["model", "messages", "max_tokens", "max_completion_tokens", "logprobs", "top_logprobs", "stream",
                           "stream_options", "response_format", "add_generation_prompt", "continue_final_message", "echo",
                           "add_special_tokens", "chat_template", "chat_template_kwargs", "request_id", "priority", "tools",
                           "tool_choice", "parallel_tool_calls", "user", "store", "metadata", "documents"],
    ]

    /// Throws for an unsupported field; logs the ones
    /// ignored, as vLLM does. A body that is no JSON object is left to the endpoint's decoding.
    static func check(body: String, endpoint: GenerationEndpoint, context: ServerContext) throws {
        let shape: Shape
        do { shape = try JSONDecoder().decode(Shape.self, from: Data(body.utf8)) } catch DecodingError.typeMismatch(_, let c) where c.codingPath.isEmpty {
            return
        } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty {
            return
        }
        if let field = shape.keys.sorted().first(where: { unsupported[$0] != nil }) {
            throw APIError.badRequest("'\(field)' asks for \(unsupported[field]!), which this server does not support yet.", param: field)
        }
        let known = read[endpoint, default: []].union(SamplingParams.jsonKeys).union(structuredOutputKeys).union(tokenIDKeys)
        let ignored = shape.keys.subtracting(known).sorted()
        if !ignored.isEmpty {
            context.logger.warning("The following fields were present in the request but ignored: \(LogText.escaped(ignored.joined(separator: ", "), limit: context.options.maxLogLen))")
        }
    }

    /// A body's top-level keys.
    private struct Shape: Decodable {
        let keys: Set<String>

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            keys = Set(c.allKeys.map(\.stringValue))
        }
    }
}
