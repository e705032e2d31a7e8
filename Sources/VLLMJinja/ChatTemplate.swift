/// A model's chat template, applied the way Hugging Face's `apply_chat_template` does
/// (`tokenize=False`): the template sees `messages`, `tools`, `documents`,
/// `add_generation_prompt`, the tokenizer's special tokens (`bos_token`, `eos_token`, …) and any
/// extra keyword arguments (vLLM's `chat_template_kwargs`).
public struct ChatTemplate: Sendable {
    public let source: String
    private let template: Template

    /// Parses the template text (e.g. GGUF `tokenizer.chat_template`).
    public init(_ source: String) throws(TemplateError) {
        self.source = source
        template = try Template(source)
    }

    /// Renders a conversation into the prompt text.
    /// - Parameters:
    ///   - messages: a list of message dicts (`role`, `content` as a string or a list of content
    ///     parts, and optionally `tool_calls`, `name`, `tool_call_id` …).
    ///   - addGenerationPrompt: append the header that starts an assistant reply.
    ///   - continueFinalMessage: end the prompt right after the final message's content, so the
    ///     model continues it; incompatible with `addGenerationPrompt`.
    ///   - tools: tool (function) schemas, or nil (the template then sees `tools` = None).
    ///   - documents: retrieval documents, or nil.
    ///   - specialTokens: e.g. `["bos_token": "<s>", "eos_token": "</s>"]`.
    ///   - extraKwargs: further template variables; they override special tokens of the same name.
    ///   - limits: what the render may spend (see `RenderLimits`).
    public func apply(messages: Value, addGenerationPrompt: Bool = false, continueFinalMessage: Bool = false,
                      tools: Value? = nil, documents: Value? = nil, specialTokens: [String: String] = [:],
                      extraKwargs: [(String, Value)] = [], limits: RenderLimits = .default) throws(TemplateError) -> String {
        if continueFinalMessage && addGenerationPrompt {
            throw .value("continue_final_message and add_generation_prompt are not compatible. Use continue_final_message when you want the model to continue the final message, and add_generation_prompt when you want to add a header that will prompt it to start a new assistant message instead.")
        }
        var context: [String: Value] = [:]
        for (k, v) in specialTokens { context[k] = .string(v) }
        for (k, v) in extraKwargs { context[k] = v }
        context["messages"] = messages
        context["tools"] = tools ?? Value.none
        context["documents"] = documents ?? Value.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        let rendered = try template.render(context, limits: limits)
        return continueFinalMessage ? try Self.cutAfterFinalMessage(rendered, messages) : rendered
    }

    /// HF's `continue_final_message`: cut the prompt right after the last occurrence of the final
    /// message's text, keeping its trailing whitespace only if the template kept it.
    static func cutAfterFinalMessage(_ rendered: String, _ messages: Value) throws(TemplateError) -> String {
        guard case let .list(list) = messages, let last = list.last else {
            throw .value("continue_final_message is set but there is no final message")
        }
        var content = try Access.item(last, .string("content"))
        if case let .list(parts) = content {
            guard let text = parts.reversed().lazy.compactMap({ part -> Value? in
                if case let .dict(d) = part { return d["text"] }
                return nil
            }).first else {
                throw .value("continue_final_message is set but we could not find any text to continue in the final message!")
            }
            content = text
        }
        guard case let .string(finalMessage) = content else {
            throw .runtime("AttributeError: '\(content.typeName)' object has no attribute 'strip'")
        }
        let text = rendered.scalars, message = finalMessage.scalars
        let stripped = message.stripped(nil), lstripped = message.stripped(nil, trailing: false)
        guard let loc = text.rfind(stripped) else {
            throw .value("continue_final_message is set but the final message does not appear in the chat after applying the chat template! This can happen if the chat template deletes portions of the final message. Please verify the chat template and final message in your chat to ensure they are compatible.")
        }
        let end = loc + lstripped.count
        if end <= text.count && Array(text[loc..<end]) == message {
            return String(text[..<end])
        }
        return String(text[..<(loc + stripped.count)])
    }
}
