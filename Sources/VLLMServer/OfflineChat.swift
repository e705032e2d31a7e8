import VLLM
import VLLMJinja

/// Chat prompts for the offline API (vLLM's `LLM.chat`), rendered as the server renders a chat
/// completion's: the same message preparation, template, special tokens and render limits.
public struct OfflineChat: Sendable {
    private let renderer: ChatRenderer

    /// - Parameter chatTemplate: a template to use instead of the tokenizer's.
    public init(tokenizer: Tokenizer, chatTemplate: String? = nil) throws {
        let source = chatTemplate ?? tokenizer.chatTemplate
        renderer = ChatRenderer(template: try source.map { try ChatTemplate($0) }, tokenizer: tokenizer,
                                trustRequestTemplate: false, timeoutSeconds: ServerOptions().chatTemplateTimeoutSeconds)
    }

    /// The prompt for one conversation: `body` is a chat request's JSON with `messages` and
    /// optionally `tools`, `documents` and `chat_template_kwargs`. Throws `OfflineChatError`.
    public func prompt(body: String, addGenerationPrompt: Bool, continueFinalMessage: Bool) throws -> String {
        do {
            return try renderer.render(ChatInputs(body: body), addGenerationPrompt: addGenerationPrompt,
                                       continueFinalMessage: continueFinalMessage, requestTemplate: nil)
        } catch let e as APIError {
            throw OfflineChatError(message: e.message)
        } catch let e as TemplateError {
            throw OfflineChatError(message: e.description)
        }
    }
}

/// Why a conversation could not be rendered.
public struct OfflineChatError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
