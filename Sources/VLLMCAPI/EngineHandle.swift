import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMJinja
import VLLMServer

/// `LLM(**kwargs)`'s engine flags, parsed as `vllm serve` parses them.
struct BindingEngineArguments: ParsableArguments {
    @OptionGroup var engine: EngineOptions
    @OptionGroup var compatibility: CompatibilityOptions
}

/// One Python `LLM`: the engine, and a lock so that calls from several Python threads run one
/// at a time (the engine has one owner).
final class EngineHandle: @unchecked Sendable {
    let llm: LLM
    private let lock = NSLock()
    /// How long the engine itself took for the last generate (the binding's overhead is the rest).
    private var lastEngineSeconds = 0.0

    /// `json`: {"argv": [flags], "seed": N?}.
    init(json: String) throws {
        let request = try OfflineRequests.object(json)
        let argv = (request["argv"] as? [String]) ?? []
        let parsed: BindingEngineArguments
        do {
            parsed = try BindingEngineArguments.parse(argv)
        } catch {
            let message = BindingEngineArguments.message(for: error)
            let unknown = message.hasPrefix("Unknown option")
            throw BindingError(type: unknown ? "TypeError" : "ValueError",
                               message: unknown ? "LLM() got an unexpected keyword argument: " + BindingError.pythonNames(String(message.dropFirst("Unknown option ".count)))
                                   : BindingError.pythonNames(message))
        }
        var args = try parsed.engine.engineArgs
        if let seed = request["seed"] as? Int { args.seed = UInt64(bitPattern: Int64(seed)) }
        parsed.compatibility.applyLoadFormat(to: &args)
        llm = try LLM(model: parsed.engine.modelOptions.model, args: args)
    }

    /// The operations: generate, beam_search, chat_prompts, encode, decode, default_sampling_params,
    /// last_call, info.
    func call(_ method: String, _ json: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let request = try OfflineRequests.object(json)
        let tokenizer = llm.tokenizer
        switch method {
        case "generate":
            let (prompts, params, loras) = try OfflineRequests.generation(request)
            let start = ContinuousClock.now
            let outputs = try llm.generate(prompts, params, loraRequest: loras)
            lastEngineSeconds = (ContinuousClock.now - start) / .seconds(1)
            return OfflineRequests.encode(outputs, prompts: request["prompts"] as? [[String: Any]] ?? [], params: params,
                                          tokenizer: tokenizer).text()
        case "beam_search":
            let prompts = try OfflineRequests.prompts(request)
            let outputs = try llm.beamSearch(prompts, try OfflineRequests.beamSearchParams(request))
            return OfflineRequests.encode(outputs, tokenizer: tokenizer).text()
        case "chat_prompts":
            // Each conversation rendered through the chat template, as vLLM's LLM.chat does
            // before it generates.
            let chat = try OfflineChat(tokenizer: tokenizer, chatTemplate: request["chat_template"] as? String)
            let bodies = request["conversations"] as? [String] ?? []
            let prompts = try bodies.map {
                try chat.prompt(body: $0, addGenerationPrompt: request["add_generation_prompt"] as? Bool ?? true,
                                continueFinalMessage: request["continue_final_message"] as? Bool ?? false)
            }
            return OrderedJSON.array(prompts.map { .string($0) }).text()
        case "encode":
            guard let text = request["text"] as? String else { throw BindingError(type: "TypeError", message: "encode() needs a str") }
            let ids = tokenizer.encode(text, addSpecialTokens: request["add_special_tokens"] as? Bool ?? true)
            return OrderedJSON.array(ids.map { .int($0) }).text()
        case "decode":
            let ids = try OfflineRequests.tokenIDs(request["token_ids"], vocabSize: tokenizer.vocabSize, field: "token_ids")
            return OrderedJSON.string(tokenizer.decode(ids, skipSpecialTokens: request["skip_special_tokens"] as? Bool ?? false)).text()
        case "default_sampling_params":
            // vLLM's defaults with the model's generation config over them (LLM.get_default_sampling_params).
            return String(decoding: try JSONEncoder().encode(llm.engine.defaultSamplingParams), as: UTF8.self)
        case "last_call":
            return OrderedJSON.object([("engine_seconds", .double(lastEngineSeconds))]).text()
        case "info":
            return OrderedJSON.object([
                ("model", .string(llm.loaded.path)),
                ("max_model_len", .int(llm.engine.maxModelLen)),
                ("vocab_size", .int(tokenizer.vocabSize)),
                ("eos_token_id", .int(tokenizer.eosTokenID)),
                ("bos_token_id", .int(tokenizer.bosTokenID)),
                ("chat_template", .string(tokenizer.chatTemplate)),
            ]).text()
        default:
            throw BindingError(type: "RuntimeError", message: "unknown operation \(method)")
        }
    }
}
