import Foundation

/// `--speculative-config` (vLLM's `SpeculativeConfig`, given as JSON): which proposer guesses
/// the next tokens and how many it guesses per step.
public struct SpeculativeConfig: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        /// Prompt lookup: the continuation of an earlier occurrence of the last n tokens, for n
        /// from `max` down to `min`.
        case ngram(min: Int, max: Int)
        /// A draft model (a GGUF file, checkpoint directory or hub repo id) with the target's
        /// tokenizer, run ahead greedily.
        case draftModel(String)
    }

    public var method: Method
    /// Tokens proposed per step (vLLM's `num_speculative_tokens`).
    public var numSpeculativeTokens: Int
    /// No proposals while more requests than this are running (vLLM's
    /// `disable_by_batch_size`): a batch that large is bound by compute, where every verified
    /// token costs as much as a decoded one. nil: never.
    public var disableByBatchSize: Int?

    /// When the flag does not say (vLLM: never): where speculation stopped paying off on a
    /// 2-core CPU (README, Speculative decoding). A draft model costs a forward pass per
    /// proposed token, so it stops paying off sooner than prompt lookup.
    public static func defaultDisableByBatchSize(_ method: Method) -> Int {
        if case .draftModel = method { return 2 }
        return 4
    }

    /// Tokens a step verifies across its batch (each speculating request's 1 + proposals) before
    /// requests get fewer proposals than `numSpeculativeTokens`: a pass over 8 rows costs about
    /// two decode steps on a 2-core CPU, and past that it is bound by compute, every verified
    /// row costing a sizeable part of a decode step (README, Speculative decoding). A lone
    /// request always gets its `numSpeculativeTokens`, and so does every request when
    /// `disableByBatchSize` is nil (speculation never turned down).
    public static let verifiedTokenBudget = 8

    /// Proposals per request in a step of `running` requests (0 past `disableByBatchSize`).
    public func proposalsPerRequest(running: Int) -> Int {
        guard let limit = disableByBatchSize else { return numSpeculativeTokens }
        if running > limit { return 0 }
        let budget = max(Self.verifiedTokenBudget, 1 + numSpeculativeTokens)
        return min(numSpeculativeTokens, max(0, budget / max(1, running) - 1))
    }

    public init(method: Method, numSpeculativeTokens: Int, disableByBatchSize: Int?) {
        self.method = method
        self.numSpeculativeTokens = numSpeculativeTokens
        self.disableByBatchSize = disableByBatchSize
    }

    /// With the method's default `disableByBatchSize`.
    public init(method: Method, numSpeculativeTokens: Int) {
        self.init(method: method, numSpeculativeTokens: numSpeculativeTokens, disableByBatchSize: Self.defaultDisableByBatchSize(method))
    }

    /// Parses the flag's JSON object, with vLLM's field names.
    public static func parse(json: String) throws(EngineArgsError) -> SpeculativeConfig {
        let flag = "--speculative-config"
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data),
              let fields = object as? [String: Any] else {
            throw .invalid("\(flag) must be a JSON object, e.g. {\"method\": \"ngram\", \"num_speculative_tokens\": 4, \"prompt_lookup_max\": 4}")
        }
        let known: Set = ["method", "model", "num_speculative_tokens", "prompt_lookup_max", "prompt_lookup_min", "disable_by_batch_size"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalid("\(flag): unknown field \"\(unknown)\"")
        }
        // Decoded on its own so that only JSON integers pass (not strings, booleans or 2.5).
        func int(_ key: String) throws(EngineArgsError) -> Int? {
            guard let v = fields[key], !(v is NSNull) else { return nil }
            guard let one = try? JSONSerialization.data(withJSONObject: [v]),
                  let n = try? JSONDecoder().decode([Int].self, from: one).first,
                  String(data: one, encoding: .utf8) == "[\(n)]" else {
                throw .invalid("\(flag): \(key) must be an integer")
            }
            return n
        }
        let method = fields["method"] as? String ?? (fields["model"] == nil ? nil : "draft_model")
        guard let method else { throw .invalid("\(flag) needs \"method\" (ngram) or \"model\"") }
        guard method == "ngram" || method == "draft_model" else {
            throw .invalid("\(flag): method \"\(method)\" is not supported; supported: ngram, draft_model (with \"model\")")
        }
        guard let k = try int("num_speculative_tokens") else { throw .invalid("\(flag) needs num_speculative_tokens") }
        guard (1...32).contains(k) else { throw .invalid("\(flag): num_speculative_tokens must be between 1 and 32, got \(k)") }
        let disable = try int("disable_by_batch_size")
        if let disable, disable < 1 { throw .invalid("\(flag): disable_by_batch_size must be at least 1, got \(disable)") }
        if method == "draft_model" {
            guard let model = fields["model"] as? String, !model.isEmpty else {
                throw .invalid("\(flag): the draft_model method needs \"model\" (a GGUF file, checkpoint directory or repo id)")
            }
            let draft = Method.draftModel(model)
            return SpeculativeConfig(method: draft, numSpeculativeTokens: k, disableByBatchSize: disable ?? Self.defaultDisableByBatchSize(draft))
        }
        guard fields["model"] == nil else { throw .invalid("\(flag): \"model\" is for the draft_model method, not ngram") }
        // vLLM: when only one bound is given the other takes its value; neither: 5 and 5.
        let lookupMax = try int("prompt_lookup_max"), lookupMin = try int("prompt_lookup_min")
        let hi = lookupMax ?? lookupMin ?? 5, lo = lookupMin ?? lookupMax ?? 5
        guard lo >= 1 else { throw .invalid("\(flag): prompt_lookup_min must be at least 1, got \(lo)") }
        guard hi >= lo else { throw .invalid("\(flag): prompt_lookup_max (\(hi)) must be at least prompt_lookup_min (\(lo))") }
        let ngram = Method.ngram(min: lo, max: hi)
        return SpeculativeConfig(method: ngram, numSpeculativeTokens: k, disableByBatchSize: disable ?? Self.defaultDisableByBatchSize(ngram))
    }
}
