import VLLMJinja

/// `POST /v1/chat/completions`. The typed fields come from `JSONDecoder`; `messages`, `tools`
/// and `chat_template_kwargs` are kept as template values read from the same body, since the
/// chat template walks them and key order matters when it prints tool schemas.
struct ChatRequest: Decodable, Sendable {
    var model: String?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var logprobs: Bool
    var topLogprobs: Int?
    var stream: Bool
    var streamOptions: StreamOptions?
    var addGenerationPrompt: Bool
    var continueFinalMessage: Bool
    var echo: Bool
    var addSpecialTokens: Bool
    var chatTemplate: String?
    var requestID: String?
    var sampling: SamplingFields
    var tokenIDs: TokenIDFields
    /// Checked for shape here; the template gets the raw values from `ChatInputs`.
    var messages: [ChatMessageShape]
    var toolChoice: ToolChoice?
    var parallelToolCalls: Bool?
    /// vLLM's `reasoning_effort` ("low", "medium", "high"): a chat template variable (gpt-oss's
    /// `Reasoning:` line).
    var reasoningEffort: String?
    /// vLLM's `include_reasoning`: false leaves `reasoning_content` out.
    var includeReasoning: Bool

    enum CodingKeys: String, CodingKey {
        case model, logprobs, stream, echo, messages
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens"
        case topLogprobs = "top_logprobs", streamOptions = "stream_options"
        case addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message", addSpecialTokens = "add_special_tokens"
        case chatTemplate = "chat_template", requestID = "request_id"
        case toolChoice = "tool_choice", parallelToolCalls = "parallel_tool_calls"
        case reasoningEffort = "reasoning_effort", includeReasoning = "include_reasoning"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        logprobs = try c.decodeLaxBoolIfPresent(forKey: .logprobs) ?? false
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        stream = try c.decodeLaxBoolIfPresent(forKey: .stream) ?? false
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        addGenerationPrompt = try c.decodeLaxBoolIfPresent(forKey: .addGenerationPrompt) ?? true
        continueFinalMessage = try c.decodeLaxBoolIfPresent(forKey: .continueFinalMessage) ?? false
        echo = try c.decodeLaxBoolIfPresent(forKey: .echo) ?? false
        // The chat template writes the BOS token itself (vLLM's default for chat).
        addSpecialTokens = try c.decodeLaxBoolIfPresent(forKey: .addSpecialTokens) ?? false
        chatTemplate = try c.decodeIfPresent(String.self, forKey: .chatTemplate)
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        sampling = try SamplingFields(from: decoder)
        tokenIDs = try TokenIDFields(from: decoder)
        messages = try c.decode([ChatMessageShape].self, forKey: .messages)
        toolChoice = try c.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        parallelToolCalls = try c.decodeLaxBoolIfPresent(forKey: .parallelToolCalls)
        reasoningEffort = try c.decodeIfPresent(String.self, forKey: .reasoningEffort)
        includeReasoning = try c.decodeLaxBoolIfPresent(forKey: .includeReasoning) ?? true
    }

    /// `max_completion_tokens` wins over the deprecated `max_tokens`.
    var outputLimit: Int? { maxCompletionTokens ?? maxTokens }
}

/// What a message must look like to be rendered: a role and string or list content.
struct ChatMessageShape: Decodable, Sendable {
    var role: String
    enum CodingKeys: String, CodingKey { case role, content }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        if c.contains(.content), try !c.decodeNil(forKey: .content) {
            if (try? c.decode(String.self, forKey: .content)) == nil {
                _ = try c.decode([ContentPartShape].self, forKey: .content)
            }
        }
    }
}

/// A content part: only text parts can be rendered (no multimodal input yet).
struct ContentPartShape: Decodable {
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard type == "text" else {
            throw APIError.badRequest("content part type '\(type)' is not supported (only 'text'; no multimodal models yet).", param: "messages")
        }
        _ = try c.decode(String.self, forKey: .text)
    }
    enum CodingKeys: String, CodingKey { case type, text }
}

/// `tool_choice`: "none", "auto", "required", or `{"type": "function", "function": {"name": …}}`.
enum ToolChoice: Decodable, Equatable, Sendable {
    case none, auto, required
    case function(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            switch s {
            case "none": self = .none
            case "auto": self = .auto
            case "required": self = .required
            default:
                throw APIError.badRequest("tool_choice must be 'none', 'auto', 'required' or a named function, got '\(s)'.", param: "tool_choice")
            }
            return
        }
        struct Named: Decodable {
            struct Function: Decodable { var name: String }
            var function: Function
        }
        self = .function(try c.decode(Named.self).function.name)
    }
}
