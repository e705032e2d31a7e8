import Foundation
import VLLM
import VLLMCommandLine
import VLLMJinja

/// The JSON the Python side sends (prompts, SamplingParams, LoRA requests) read into engine
/// values, and the engine's outputs written as the JSON it reads back into vLLM's classes.
enum OfflineRequests {
    static func object(_ text: String) throws -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let object = value as? [String: Any] else {
            throw BindingError(type: "RuntimeError", message: "the binding sent malformed JSON")
        }
        return object
    }

    /// A SamplingParams JSON object's text: vLLM's field names, read by the same code as
    /// `vllm generate --sampling-params`.
    static func samplingParams(_ text: String) throws -> SamplingParams {
        try SamplingParamsJSON.parameters(SamplingParamsJSON.object(text, context: "SamplingParams"), text: text,
                                          over: SamplingParams(), context: "SamplingParams")
    }

    /// {"prompts": [...], "params": [SamplingParams JSON text, one or one per prompt],
    ///  "lora_requests": [null or {"lora_name", "lora_int_id", "lora_path", "base_model_name"}, …]}
    static func generation(_ request: [String: Any]) throws
        -> (prompts: [PromptInput], params: [SamplingParams], loras: [LoRARequest?]) {
        let prompts = try Self.prompts(request)
        let params = try (request["params"] as? [String] ?? []).map(samplingParams)
        guard params.count == 1 || params.count == prompts.count else {
            throw BindingError(type: "ValueError", message: "The lengths of prompts and sampling_params must be the same.")
        }
        let loras = try (request["lora_requests"] as? [Any] ?? []).map(loraRequest)
        guard loras.count <= 1 || loras.count == prompts.count else {
            throw BindingError(type: "ValueError", message: "The lengths of prompts and lora_request must be the same.")
        }
        return (prompts, params, loras)
    }

    /// Each prompt {"prompt": text} or {"prompt_token_ids": [ids]} (the text then only labels it).
    static func prompts(_ request: [String: Any]) throws -> [PromptInput] {
        try (request["prompts"] as? [[String: Any]] ?? []).map { p in
            if p["prompt_token_ids"] != nil { return .tokenIDs(try tokenIDs(p["prompt_token_ids"], vocabSize: nil, field: "prompt_token_ids")) }
            guard let text = p["prompt"] as? String else { throw BindingError(type: "TypeError", message: "a prompt is a str, or a dict with prompt or prompt_token_ids") }
            return .text(text)
        }
    }

    static func tokenIDs(_ value: Any?, vocabSize: Int?, field: String) throws -> [Int] {
        guard let list = value as? [Any] else { throw BindingError(type: "TypeError", message: "\(field) must be a list of int") }
        return try list.map { v in
            guard let id = v as? Int else {
                throw BindingError(type: "TypeError", message: "\(field) must be a list of int")
            }
            if let vocabSize, !(0..<vocabSize).contains(id) {
                throw BindingError(type: "ValueError", message: "Token id \(id) is out of vocabulary")
            }
            return id
        }
    }

    static func beamSearchParams(_ request: [String: Any]) throws -> BeamSearchParams {
        guard let p = request["params"] as? [String: Any], let width = p["beam_width"] as? Int, let maxTokens = p["max_tokens"] as? Int else {
            throw BindingError(type: "TypeError", message: "BeamSearchParams needs integer beam_width and max_tokens")
        }
        let params = BeamSearchParams(beamWidth: width, maxTokens: maxTokens, ignoreEOS: p["ignore_eos"] as? Bool ?? false,
                                      temperature: Float((p["temperature"] as? Double) ?? 0),
                                      lengthPenalty: Float((p["length_penalty"] as? Double) ?? 1))
        try params.validate()
        return params
    }

    private static func loraRequest(_ value: Any) throws -> LoRARequest? {
        guard let o = value as? [String: Any] else { return nil }
        guard let name = o["lora_name"] as? String, let id = o["lora_int_id"] as? Int, let path = o["lora_path"] as? String else {
            throw BindingError(type: "TypeError", message: "LoRARequest needs lora_name (str), lora_int_id (int) and lora_path (str)")
        }
        return LoRARequest(loraName: name, loraIntId: id, loraPath: path, baseModelName: o["base_model_name"] as? String)
    }

    /// vLLM's RequestOutput fields, logprobs as lists of [token id, logprob, rank, decoded
    /// token] (the Python side builds the dicts, so a token listed twice keeps its first place
    /// and last entry, as in vLLM).
    static func encode(_ outputs: [RequestOutput], prompts: [[String: Any]], params: [SamplingParams], tokenizer: Tokenizer) -> OrderedJSON {
        func entries(_ step: StepLogprobs, chosenRank: Int?) -> OrderedJSON {
            .array(step.enumerated().map { j, e in
                .array([.int(e.tokenID), .double(e.logprob), j == 0 ? .int(chosenRank) : .int(j),
                        .string(String(decoding: tokenizer.tokenBytes(e.tokenID), as: UTF8.self))])
            })
        }
        return .array(outputs.enumerated().map { i, r in
            let p = params[params.count == 1 ? 0 : i]
            let ranks = r.promptLogprobRanks ?? []
            let promptLogprobs: OrderedJSON = r.promptLogprobs.map { steps in
                .array(steps.enumerated().map { k, step in
                    step.map { entries($0, chosenRank: k < ranks.count ? ranks[k] : nil) } ?? .null
                })
            } ?? .null
            return .object([
                ("prompt", .string(i < prompts.count ? prompts[i]["prompt"] as? String : nil)),
                ("prompt_token_ids", .array(r.promptTokenIDs.map { .int($0) })),
                ("prompt_logprobs", promptLogprobs),
                ("outputs", .array(r.outputs.map { o in
                    // Beam search reports no ranks: there the chosen token's is known only when it is among the top.
                    let logprobs: OrderedJSON = o.logprobs.map { steps in
                        .array(steps.enumerated().map { k, step in
                            if let ranks = o.logprobRanks, k < ranks.count { return entries(step, chosenRank: ranks[k]) }
                            let chosen = step.first?.tokenID
                            return entries(step, chosenRank: step.dropFirst().firstIndex { $0.tokenID == chosen })
                        })
                    } ?? .null
                    let stopToken = o.stopReason.flatMap(Int.init).flatMap { p.stopTokenIDs.contains($0) ? $0 : nil }
                    return .object([
                        ("index", .int(o.index)),
                        ("text", .string(o.text)),
                        ("token_ids", .array(o.tokenIDs.map { .int($0) })),
                        ("cumulative_logprob", o.cumulativeLogprob.map { .double($0) } ?? .null),
                        ("logprobs", logprobs),
                        ("finish_reason", .string(o.finishReason)),
                        ("stop_reason", stopToken.map { .int($0) } ?? .string(o.stopReason)),
                    ])
                })),
            ])
        })
    }

    /// vLLM's BeamSearchOutput: per prompt, sequences best first; as in vLLM, `tokens` and
    /// `text` include the prompt.
    static func encode(_ outputs: [BeamSearchOutput], tokenizer: Tokenizer) -> OrderedJSON {
        .array(outputs.map { out in
            .object([("sequences", .array(out.sequences.map { s in
                .object([
                    ("tokens", .array(s.tokens.map { .int($0) })),
                    ("text", .string(tokenizer.decode(s.tokens, skipSpecialTokens: false))),
                    ("cum_logprob", .double(s.cumulativeLogprob)),
                    ("score", .double(s.score)),
                    ("finish_reason", .string(s.finishReason)),
                ])
            }))])
        })
    }
}
