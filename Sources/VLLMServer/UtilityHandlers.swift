import Foundation
import VLLM

/// The small endpoints: models, tokenize, detokenize, version.
enum UtilityHandlers {
    /// `GET /v1/models`: each served name, then each LoRA adapter, as vLLM's model cards. An
    /// adapter's card has its path as `root`, its base model as `parent` and, as in vLLM, no
    /// `max_model_len`.
    static func models(_ context: ServerContext) -> JSONOut {
        let bases = context.modelNames.map { name in
            card(context, id: name, root: context.modelRoot, parent: nil, maxModelLen: context.maxModelLen)
        }
        let adapters = context.loras.adapters.map { lora in
            card(context, id: lora.loraName, root: lora.loraPath, parent: context.parent(of: lora), maxModelLen: nil)
        }
        return .object([("object", .string("list")), ("data", .array(bases + adapters))])
    }

    private static func card(_ context: ServerContext, id: String, root: String, parent: String?, maxModelLen: Int?) -> JSONOut {
        .object([
            ("id", .string(id)), ("object", .string("model")), ("created", .int(context.startTime)),
            ("owned_by", .string("vllm")), ("root", .string(root)), ("parent", .string(parent)),
            ("max_model_len", maxModelLen.map { .int($0) } ?? .null),
            ("permission", .array([.object([
                ("id", .string(context.makeID("modelperm-"))), ("object", .string("model_permission")),
                ("created", .int(context.startTime)), ("allow_create_engine", .bool(false)),
                ("allow_sampling", .bool(true)), ("allow_logprobs", .bool(true)),
                ("allow_search_indices", .bool(false)), ("allow_view", .bool(true)),
                ("allow_fine_tuning", .bool(false)), ("organization", .string("*")), ("group", .null),
                ("is_blocking", .bool(false)),
            ])])),
        ])
    }

    static func tokenize(_ context: ServerContext, _ request: TokenizeRequest, body: String, cancel: CancellationFlag? = nil) throws -> JSONOut {
        _ = try context.resolveModel(request.model)
        let text: String
        let addSpecial: Bool
        if let prompt = request.prompt {
            text = prompt
            addSpecial = request.addSpecialTokens ?? true
        } else {
            text = try context.renderer.render(try ChatInputs(body: body), addGenerationPrompt: request.addGenerationPrompt,
                                               continueFinalMessage: request.continueFinalMessage,
                                               requestTemplate: request.chatTemplate, cancel: cancel)
            addSpecial = request.addSpecialTokens ?? false
        }
        let ids = context.tokenizer.encode(text, addSpecialTokens: addSpecial)
        let strs: JSONOut = request.returnTokenStrs
            ? .array(ids.map { .string(context.tokenizer.tokenString($0) ?? "") }) : .null
        return .object([("count", .int(ids.count)), ("max_model_len", .int(context.maxModelLen)),
                        ("tokens", .array(ids.map { .int($0) })), ("token_strs", strs)])
    }

    static func detokenize(_ context: ServerContext, _ request: DetokenizeRequest) throws -> JSONOut {
        _ = try context.resolveModel(request.model)
        let vocab = context.tokenizer.vocabSize
        if let bad = request.tokens.first(where: { !(0..<vocab).contains($0) }) {
            throw APIError.badRequest("token id \(bad) is outside the vocabulary (0..<\(vocab)).", param: "tokens")
        }
        return .object([("prompt", .string(context.tokenizer.decode(request.tokens)))])
    }

    /// What `/version` reports: the vLLM release whose server API this one follows (clients
    /// gate features on it), not swift-vllm's own version (`vllm --version`).
    static let vllmAPIVersion = "0.11.0"
}
