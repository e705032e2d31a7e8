import VLLM
import VLLMJinja

/// The parts of a chat request the template sees, read from the body as template values.
struct ChatInputs {
    var messages: Value
    /// The `tools` list as given (nil when absent or null), empty lists included.
    var offeredTools: [Value]?
    /// The tools the template sees: none for an empty list.
    var tools: Value? { offeredTools.flatMap { $0.isEmpty ? nil : .list($0) } }
    /// Retrieval documents for templates that take them (vLLM's `documents`).
    var documents: Value?
    var kwargs: [(String, Value)]

    /// Reads `messages`, `tools` and `chat_template_kwargs` from the JSON body and prepares the
    /// messages as vLLM does before rendering: list content becomes its text parts joined by
    /// newlines and null content "" (templates use content as a string), and assistant
    /// `tool_calls` arguments given as JSON text become objects (templates print them with
    /// `tojson`).
    init(body: String) throws {
        guard case let .dict(root) = try Value(json: body) else {
            throw APIError.badRequest("The request body must be a JSON object.")
        }
        guard case let .list(raw)? = root["messages"] else {
            throw APIError.badRequest("messages must be a list.", param: "messages")
        }
        messages = .list(raw.map(Self.prepare))
        switch root["tools"] {
        case nil, .some(.none): offeredTools = nil
        case let .list(t)?: offeredTools = t
        default: throw APIError.badRequest("tools must be a list of tool definitions.", param: "tools")
        }
        switch root["documents"] {
        case nil, .some(.none): documents = nil
        case let .list(d)?: documents = .list(d)
        default: throw APIError.badRequest("documents must be a list of objects.", param: "documents")
        }
        kwargs = []
        switch root["chat_template_kwargs"] {
        case nil, .some(.none): break
        case let .dict(d)?:
            for (k, v) in zip(d.keys, d.values) { kwargs.append((k.pyStr, v)) }
        default: throw APIError.badRequest("chat_template_kwargs must be an object.", param: "chat_template_kwargs")
        }
    }

    /// Names of the tools offered, for parsers that check calls against them.
    var toolNames: [String] {
        guard case let .list(list)? = tools else { return [] }
        return list.compactMap { tool in
            guard case let .dict(t) = tool, case let .dict(f)? = t["function"], case let .string(name)? = f["name"] else { return nil }
            return name
        }
    }

    private static func prepare(_ message: Value) -> Value {
        guard case var .dict(m) = message else { return message }
        // A missing or null content (an assistant turn that only calls tools) renders as "",
        // as vLLM passes it to string-content templates.
        switch m["content"] {
        case nil, .some(.none): m["content"] = .string("")
        default: break
        }
        if case let .list(parts)? = m["content"] {
            let texts = parts.compactMap { part -> String? in
                guard case let .dict(p) = part, case let .string(t)? = p["text"] else { return nil }
                return t
            }
            m["content"] = .string(texts.joined(separator: "\n"))
        }
        if case let .list(calls)? = m["tool_calls"] {
            m["tool_calls"] = .list(calls.map { call in
                guard case var .dict(c) = call, case var .dict(f)? = c["function"],
                      case let .string(args)? = f["arguments"], let parsed = try? Value(json: args) else { return call }
                f["arguments"] = parsed
                c["function"] = .dict(f)
                return .dict(c)
            })
        }
        return .dict(m)
    }
}

/// Renders conversations with the model's chat template (or `--chat-template`).
struct ChatRenderer: Sendable {
    let template: ChatTemplate?
    /// `bos_token`, `eos_token`, … as the tokenizer spells them.
    let specialTokens: [String: String]
    /// Whether a request may bring its own `chat_template` (`--trust-request-chat-template`).
    let trustRequestTemplate: Bool
    /// The wall-clock cap on one rendering (`--chat-template-timeout`).
    let timeoutSeconds: Double

    init(template: ChatTemplate?, tokenizer: Tokenizer, trustRequestTemplate: Bool, timeoutSeconds: Double) {
        self.template = template
        self.trustRequestTemplate = trustRequestTemplate
        self.timeoutSeconds = timeoutSeconds
        var tokens: [String: String] = [:]
        for (name, id) in [("bos_token", tokenizer.bosTokenID), ("eos_token", tokenizer.eosTokenID),
                           ("unk_token", tokenizer.unknownTokenID), ("pad_token", tokenizer.paddingTokenID)] {
            if let id { tokens[name] = String(decoding: tokenizer.tokenBytes(id), as: UTF8.self) }
        }
        specialTokens = tokens
    }

    /// The prompt text for a conversation.
    func render(_ inputs: ChatInputs, addGenerationPrompt: Bool, continueFinalMessage: Bool,
                requestTemplate: String?, cancel: CancellationFlag? = nil) throws -> String {
        var chosen = template
        if let source = requestTemplate {
            guard trustRequestTemplate else {
                throw APIError.badRequest("Chat template is passed with request, but --trust-request-chat-template is not set. Refused request with untrusted chat template.", param: "chat_template")
            }
            chosen = try ChatTemplate(source)
        }
        guard let chosen else {
            throw APIError.badRequest("The model has no chat template (tokenizer.chat_template); start the server with --chat-template FILE.")
        }
        var limits = RenderLimits.default
        limits.deadline = .now + .milliseconds(Int64(timeoutSeconds * 1000))
        if let cancel { limits.isCancelled = { cancel.isCancelled } }
        return try chosen.apply(messages: inputs.messages, addGenerationPrompt: addGenerationPrompt,
                                continueFinalMessage: continueFinalMessage, tools: inputs.tools, documents: inputs.documents,
                                specialTokens: specialTokens, extraKwargs: inputs.kwargs, limits: limits)
    }
}
