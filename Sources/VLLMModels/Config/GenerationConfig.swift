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

    /// Whether any sampling default is set (vLLM logs them when so).
    public var hasSamplingDefaults: Bool {
        temperature != nil || topP != nil || topK != nil || minP != nil || repetitionPenalty != nil || maxNewTokens != nil
    }
}
