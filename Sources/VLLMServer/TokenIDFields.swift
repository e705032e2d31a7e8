/// vLLM's request fields that show token ids: `return_token_ids` (the prompt's and each
/// choice's ids beside the text) and `return_tokens_as_token_ids` (logprobs name tokens
/// `token_id:N`, for tokens that are not valid UTF-8 on their own; `--return-tokens-as-token-ids`
/// is the server's default).
struct TokenIDFields: Decodable, Sendable {
    var returnTokenIDs: Bool
    var returnTokensAsTokenIDs: Bool?

    enum CodingKeys: String, CodingKey {
        case returnTokenIDs = "return_token_ids", returnTokensAsTokenIDs = "return_tokens_as_token_ids"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        returnTokenIDs = try c.decodeLaxBoolIfPresent(forKey: .returnTokenIDs) ?? false
        returnTokensAsTokenIDs = try c.decodeLaxBoolIfPresent(forKey: .returnTokensAsTokenIDs)
    }

    /// `ids` when asked for, else null.
    func ids(_ ids: some Sequence<Int>) -> JSONOut { returnTokenIDs ? .array(ids.map { .int($0) }) : .null }
}
