import VLLMModels

/// The `tokenizer.*` GGUF keys, read and validated in one place so the tokenizer proper never
/// sees a malformed value.
struct TokenizerMetadata {
    var model: String
    var pre: String?
    var tokens: [String]
    var types: [TokenType]
    var scores: [Float]
    var merges: [String]
    var bosID: Int?
    var eosID: Int?
    var paddingID: Int?
    var unknownID: Int?
    var addBOS: Bool?
    var addEOS: Bool?
    var addSpacePrefix: Bool?
    var chatTemplate: String?

    init(_ md: [String: GGUFValue]) throws(TokenizerError) {
        guard let modelValue = md["tokenizer.ggml.model"] else { throw .missingMetadata(key: "tokenizer.ggml.model") }
        guard let model = modelValue.string else {
            throw .invalidMetadata(key: "tokenizer.ggml.model", reason: "not a string")
        }
        self.model = model
        pre = try Self.string(md, "tokenizer.ggml.pre")

        guard let tokenValues = md["tokenizer.ggml.tokens"] else { throw .missingMetadata(key: "tokenizer.ggml.tokens") }
        tokens = try Self.strings(tokenValues, "tokenizer.ggml.tokens")
        guard !tokens.isEmpty else { throw .invalidMetadata(key: "tokenizer.ggml.tokens", reason: "empty vocabulary") }
        let n = tokens.count

        if let v = md["tokenizer.ggml.token_type"] {
            guard let a = v.array, a.count == n else {
                throw .invalidMetadata(key: "tokenizer.ggml.token_type", reason: "expected an array of \(n) integers")
            }
            types = try a.enumerated().map { (i, x) throws(TokenizerError) in
                guard let raw = x.int, let t = TokenType(rawValue: raw) else {
                    throw .invalidMetadata(key: "tokenizer.ggml.token_type", reason: "entry \(i) is not a token type (0…6)")
                }
                return t
            }
        } else {
            types = Array(repeating: .normal, count: n)
        }

        if let v = md["tokenizer.ggml.scores"] {
            guard let a = v.array, a.count == n else {
                throw .invalidMetadata(key: "tokenizer.ggml.scores", reason: "expected an array of \(n) numbers")
            }
            scores = try a.enumerated().map { (i, x) throws(TokenizerError) in
                guard let d = x.double else {
                    throw .invalidMetadata(key: "tokenizer.ggml.scores", reason: "entry \(i) is not a number")
                }
                return Float(d)
            }
        } else {
            scores = Array(repeating: 0, count: n)
        }

        merges = try md["tokenizer.ggml.merges"].map { v throws(TokenizerError) in
            try Self.strings(v, "tokenizer.ggml.merges")
        } ?? []

        bosID = try Self.tokenID(md, "tokenizer.ggml.bos_token_id", n)
        eosID = try Self.tokenID(md, "tokenizer.ggml.eos_token_id", n)
        paddingID = try Self.tokenID(md, "tokenizer.ggml.padding_token_id", n)
        unknownID = try Self.tokenID(md, "tokenizer.ggml.unknown_token_id", n)
        addBOS = try Self.bool(md, "tokenizer.ggml.add_bos_token")
        addEOS = try Self.bool(md, "tokenizer.ggml.add_eos_token")
        addSpacePrefix = try Self.bool(md, "tokenizer.ggml.add_space_prefix")
        chatTemplate = try Self.string(md, "tokenizer.chat_template")
    }

    private static func strings(_ v: GGUFValue, _ key: String) throws(TokenizerError) -> [String] {
        guard let a = v.array else { throw .invalidMetadata(key: key, reason: "not an array") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for (i, x) in a.enumerated() {
            guard let s = x.string else { throw .invalidMetadata(key: key, reason: "entry \(i) is not a string") }
            out.append(s)
        }
        return out
    }

    private static func string(_ md: [String: GGUFValue], _ key: String) throws(TokenizerError) -> String? {
        guard let v = md[key] else { return nil }
        guard let s = v.string else { throw .invalidMetadata(key: key, reason: "not a string") }
        return s
    }

    private static func bool(_ md: [String: GGUFValue], _ key: String) throws(TokenizerError) -> Bool? {
        guard let v = md[key] else { return nil }
        guard let b = v.bool else { throw .invalidMetadata(key: key, reason: "not a bool") }
        return b
    }

    private static func tokenID(_ md: [String: GGUFValue], _ key: String, _ n: Int) throws(TokenizerError) -> Int? {
        guard let v = md[key] else { return nil }
        // Converters write -1 (or its uint32 spelling) for "no such token".
        if let id = v.int, id == -1 || id == Int(UInt32.max) { return nil }
        guard let id = v.int, (0..<n).contains(id) else {
            throw .invalidMetadata(key: key, reason: "not a token id in 0..<\(n)")
        }
        return id
    }
}
