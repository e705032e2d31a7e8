/// What the engine takes from `tokenizer_config.json`, `special_tokens_map.json` and the chat
/// template files of a Hugging Face model directory.
struct HFTokenizerConfig {
    var bosToken: String?
    var eosToken: String?
    var padToken: String?
    var unkToken: String?
    var addBOSToken: Bool?
    var addEOSToken: Bool?
    var modelMaxLength: Int?
    var tokenizerClass: String?
    var chatTemplates: [String: String] = [:]

    init() {}

    /// - Parameters:
    ///   - config: tokenizer_config.json.
    ///   - specialTokensMap: special_tokens_map.json; fills the special tokens config lacks.
    ///   - templateFiles: chat_template.jinja as "default" and additional_chat_templates/*.jinja
    ///     by name. As in transformers, when any exist they replace the config's templates.
    ///   - legacyTemplateJSON: chat_template.json (processors' older file), used only when
    ///     neither the files nor the config have a template.
    init(config: [UInt8]?, specialTokensMap: [UInt8]?, templateFiles: [String: String] = [:],
         legacyTemplateJSON: [UInt8]? = nil) throws(TokenizerError) {
        if let config {
            let root = JSONNode(try JSON.parse(config, file: "tokenizer_config.json"), file: "tokenizer_config.json")
            _ = try root.members()
            bosToken = try Self.token(root, "bos_token")
            eosToken = try Self.token(root, "eos_token")
            padToken = try Self.token(root, "pad_token")
            unkToken = try Self.token(root, "unk_token")
            addBOSToken = try root.optionalBool("add_bos_token")
            addEOSToken = try root.optionalBool("add_eos_token")
            tokenizerClass = try root.optionalString("tokenizer_class")
            if let m = try root.optional("model_max_length") {
                switch m.value {
                case let .int(v) where v > 0: modelMaxLength = v
                case .int, .double: modelMaxLength = nil // transformers' VERY_LARGE_INTEGER and friends
                default: throw m.fail("expected a number, found \(m.value.typeName)")
                }
            }
            if let t = try root.optional("chat_template") { chatTemplates = try Self.templates(t) }
        }
        if let specialTokensMap {
            let root = JSONNode(try JSON.parse(specialTokensMap, file: "special_tokens_map.json"),
                                file: "special_tokens_map.json")
            _ = try root.members()
            if bosToken == nil { bosToken = try Self.token(root, "bos_token") }
            if eosToken == nil { eosToken = try Self.token(root, "eos_token") }
            if padToken == nil { padToken = try Self.token(root, "pad_token") }
            if unkToken == nil { unkToken = try Self.token(root, "unk_token") }
        }
        if !templateFiles.isEmpty {
            chatTemplates = templateFiles
        } else if chatTemplates.isEmpty, let legacyTemplateJSON {
            let root = JSONNode(try JSON.parse(legacyTemplateJSON, file: "chat_template.json"), file: "chat_template.json")
            if let t = try root.optional("chat_template") { chatTemplates = try Self.templates(t) }
        }
    }

    /// A special token given as a string or as an AddedToken object (`{"content": …}`).
    private static func token(_ root: JSONNode, _ key: String) throws(TokenizerError) -> String? {
        guard let n = try root.optional(key) else { return nil }
        switch n.value {
        case let .string(s): return s
        case .object: return try n.required("content").string()
        default: throw n.fail("expected a string or an object with 'content', found \(n.value.typeName)")
        }
    }

    /// `chat_template`: one string (named "default") or a list of {name, template}.
    private static func templates(_ n: JSONNode) throws(TokenizerError) -> [String: String] {
        switch n.value {
        case let .string(s):
            return ["default": s]
        case .array:
            var out: [String: String] = [:]
            for item in try n.items() {
                let name = try item.required("name").string()
                guard out[name] == nil else { throw item.fail("two chat templates are named '\(name)'") }
                out[name] = try item.required("template").string()
            }
            return out
        default:
            throw n.fail("expected a string or a list of {name, template}, found \(n.value.typeName)")
        }
    }
}
