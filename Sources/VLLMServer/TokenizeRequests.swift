/// `POST /tokenize`: a `prompt` (completions style) or `messages` (rendered with the chat
/// template first), as vLLM accepts.
struct TokenizeRequest: Decodable {
    var model: String?
    var prompt: String?
    var hasMessages: Bool
    var addSpecialTokens: Bool?
    var addGenerationPrompt: Bool
    var continueFinalMessage: Bool
    var returnTokenStrs: Bool
    var chatTemplate: String?

    enum CodingKeys: String, CodingKey {
        case model, prompt, messages
        case addSpecialTokens = "add_special_tokens", addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message", returnTokenStrs = "return_token_strs"
        case chatTemplate = "chat_template"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        hasMessages = c.contains(.messages)
        if hasMessages { _ = try c.decode([ChatMessageShape].self, forKey: .messages) }
        guard (prompt != nil) != hasMessages else {
            throw APIError.badRequest("Give exactly one of `prompt` and `messages`.")
        }
        addSpecialTokens = try c.decodeLaxBoolIfPresent(forKey: .addSpecialTokens)
        addGenerationPrompt = try c.decodeLaxBoolIfPresent(forKey: .addGenerationPrompt) ?? true
        continueFinalMessage = try c.decodeLaxBoolIfPresent(forKey: .continueFinalMessage) ?? false
        returnTokenStrs = try c.decodeLaxBoolIfPresent(forKey: .returnTokenStrs) ?? false
        chatTemplate = try c.decodeIfPresent(String.self, forKey: .chatTemplate)
    }
}

/// `POST /detokenize`.
struct DetokenizeRequest: Decodable {
    var model: String?
    var tokens: [Int]
}
