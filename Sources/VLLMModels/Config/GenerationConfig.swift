import Foundation

/// The sampling defaults of a model's `generation_config.json`, as vLLM's
/// `--generation-config auto` takes them: the fields it reads (temperature, top_p, top_k, min_p,
/// repetition_penalty, max_new_tokens) become defaults a request's own fields override, and
/// every `eos_token_id` besides the tokenizer's EOS becomes a stop token.
public struct GenerationConfig: Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    public var maxNewTokens: Int?
    public var eosTokenIDs: [Int] = []

    public init() {}

    /// The file in `directory`, or nil when there is none.
    public init?(directory: String) throws(ModelLoadError) {
        let path = directory + "/generation_config.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let j = try HFConfigJSON(path: path)
        temperature = j.double("temperature")
        topP = j.double("top_p")
        topK = j.int("top_k")
        minP = j.double("min_p")
        repetitionPenalty = j.double("repetition_penalty")
        maxNewTokens = j.int("max_new_tokens")
        if let one = j.int("eos_token_id") {
            eosTokenIDs = [one]
        } else if let many = j.object["eos_token_id"] as? [Any] {
            eosTokenIDs = many.compactMap { ($0 as? NSNumber)?.intValue }
        }
    }

    /// What a GGUF file says about stopping: its EOT / EOM tokens, and the end-of-turn tokens of
    /// the common chat formats (Gemma's `<end_of_turn>`, Phi-3's `<|end|>`, …) that its chat
    /// template uses, besides EOS: where the conversion leaves only `<eos>` as EOS, a chat would
    /// otherwise run past the end of the assistant's turn. (llama.cpp stops at every such token
    /// in the vocabulary; taking only the template's keeps base models' EOS as it was.)
    /// `specialTokenID` finds a special (control) token by its text.
    public init(gguf: GGUFFile, vocabSize: Int, specialTokenID: (String) -> Int?) {
        var ids: [Int] = []
        for key in ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = gguf.metadata[key]?.int, (0..<vocabSize).contains(id) { ids.append(id) }
        }
        let template = gguf.metadata["tokenizer.chat_template"]?.string ?? ""
        var texts = Self.endOfTurnTexts.filter { template.contains($0) }
        // Harmony (gpt-oss) ends every message with <|end|> and only the reply with <|return|>
        // or <|call|>: stopping at <|end|> would cut the reply after its reasoning (llama.cpp
        // drops it from the end-of-generation set for the same vocabulary).
        if texts.contains("<|return|>") && texts.contains("<|call|>") { texts.removeAll { $0 == "<|end|>" } }
        for text in texts {
            if let id = specialTokenID(text), !ids.contains(id) { ids.append(id) }
        }
        eosTokenIDs = ids
    }

    /// llama.cpp's end-of-generation token texts (llama-vocab.cpp).
    static let endOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|eom_id|>", "<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>"]

    /// Whether any sampling default is set (vLLM logs them when so).
    public var hasSamplingDefaults: Bool {
        temperature != nil || topP != nil || topK != nil || minP != nil || repetitionPenalty != nil || maxNewTokens != nil
    }
}
