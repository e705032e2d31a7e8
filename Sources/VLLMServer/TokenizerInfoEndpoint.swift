import VLLM

/// `/tokenizer_info` (`--enable-tokenizer-info-endpoint`): the tokenizer's configuration in the
/// shape vLLM reports it, which is Hugging Face's `tokenizer_config.json` as transformers loads
/// it (special tokens, flags, `added_tokens_decoder`) plus the class and the chat template
/// the server uses.
enum TokenizerInfoEndpoint {
    static func json(_ ctx: ServerContext) throws -> JSONOut {
        let t = ctx.tokenizer
        func token(_ id: Int?) -> JSONOut { id.flatMap(t.tokenString).map { .string($0) } ?? .null }
        var added: [(String, JSONOut)] = []
        for id in 0..<t.vocabSize {
            guard let type = t.tokenType(id), [.control, .userDefined, .unknown].contains(type), let text = t.tokenString(id) else { continue }
            added.append((String(id), .object([
                ("content", .string(text)), ("lstrip", .bool(false)), ("normalized", .bool(false)),
                ("rstrip", .bool(false)), ("single_word", .bool(false)), ("special", .bool(t.isSpecial(id))),
            ])))
        }
        var fields: [(String, JSONOut)] = [
            ("add_bos_token", .bool(t.addBOS)), ("add_eos_token", .bool(t.addEOS)),
            ("add_prefix_space", .bool(t.addSpacePrefix)),
            ("added_tokens_decoder", .object(added)),
            ("bos_token", token(t.bosTokenID)), ("eos_token", token(t.eosTokenID)),
            ("pad_token", token(t.paddingTokenID)), ("unk_token", token(t.unknownTokenID)),
            ("clean_up_tokenization_spaces", .bool(false)),
            ("model_max_length", .int(t.modelMaxLength ?? ctx.maxModelLen)),
            ("tokenizer_class", .string("PreTrainedTokenizerFast")),
        ]
        if let template = ctx.options.chatTemplate ?? t.chatTemplate { fields.append(("chat_template", .string(template))) }
        return .object(fields)
    }
}
