/// Tokenizers from Hugging Face model directories: `tokenizer.json` (the `tokenizers` library's
/// format; BPE models with the normalizers, pre-tokenizers, post-processors and decoders listed
/// in their `supportedTypes`) plus `tokenizer_config.json`.
///
/// Special tokens around a sequence come from tokenizer.json's post-processor, as in
/// transformers 5 and in transformers 4 for most classes. The exception is transformers 4's
/// Llama-family fast tokenizers (`tokenizer_class` in `llamaFamilyClasses`), which rebuild the
/// post-processor from `add_bos_token` (default true) and `add_eos_token` (default false); that
/// rule is followed too, since vLLM deployments mostly run transformers 4 and Llama-2-style
/// fine-tunes set `add_eos_token` expecting it to work. (transformers 5 ignores both flags when
/// tokenizer.json exists.)
extension Tokenizer {
    static let llamaFamilyClasses: Set<String> = [
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
        "GemmaTokenizer", "GemmaTokenizerFast", "CohereTokenizer", "CohereTokenizerFast",
    ]

    /// Loads a Hugging Face model directory: `tokenizer.json` (required), and if present
    /// `tokenizer_config.json`, `special_tokens_map.json` (special tokens the config lacks),
    /// `chat_template.jinja` and `additional_chat_templates/*.jinja` (which replace the config's
    /// templates, as in transformers), and `chat_template.json` (used when nothing else has a
    /// template). Files are size-capped and fully validated.
    public convenience init(directory: String) throws(TokenizerError) {
        let dir = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let path = dir + "/tokenizer.json"
        guard let json = try TokenizerFiles.read(path, limit: TokenizerFiles.tokenizerJSONLimit) else {
            throw .unreadableFile(path: path, reason: "no such file (a Hugging Face tokenizer needs tokenizer.json)")
        }
        let config = try TokenizerFiles.read(dir + "/tokenizer_config.json", limit: TokenizerFiles.configLimit)
        let specialTokensMap = try TokenizerFiles.read(dir + "/special_tokens_map.json", limit: TokenizerFiles.configLimit)
        var templates: [String: String] = [:]
        if let t = try TokenizerFiles.readText(dir + "/chat_template.jinja", limit: TokenizerFiles.templateLimit) {
            templates["default"] = t
        }
        let extraDir = dir + "/additional_chat_templates"
        let extra = TokenizerFiles.list(extraDir, suffix: ".jinja")
        guard extra.count <= TokenizerFiles.maxAdditionalTemplates else {
            throw .unreadableFile(path: extraDir, reason: "more than \(TokenizerFiles.maxAdditionalTemplates) templates")
        }
        for name in extra {
            templates[String(name.dropLast(".jinja".count))] =
                try TokenizerFiles.readText(extraDir + "/" + name, limit: TokenizerFiles.templateLimit)
        }
        let legacy = try TokenizerFiles.read(dir + "/chat_template.json", limit: TokenizerFiles.templateLimit)
        try self.init(tokenizerJSON: json,
                      config: HFTokenizerConfig(config: config, specialTokensMap: specialTokensMap,
                                                templateFiles: templates, legacyTemplateJSON: legacy))
    }

    /// A tokenizer from the texts of `tokenizer.json` and optionally `tokenizer_config.json` and
    /// `special_tokens_map.json` (tests, or files that do not come from a directory).
    public convenience init(tokenizerJSON: String, tokenizerConfigJSON: String? = nil,
                            specialTokensMapJSON: String? = nil) throws(TokenizerError) {
        try self.init(tokenizerJSON: Array(tokenizerJSON.utf8),
                      config: HFTokenizerConfig(config: tokenizerConfigJSON.map { Array($0.utf8) },
                                                specialTokensMap: specialTokensMapJSON.map { Array($0.utf8) }))
    }

    convenience init(tokenizerJSON: [UInt8], config: HFTokenizerConfig) throws(TokenizerError) {
        let file = try HFTokenizerFile(bytes: tokenizerJSON)
        let unknown = config.unkToken.flatMap { file.tokenIDs[$0] } ?? file.unknownID
        // transformers maps a special token missing from the vocabulary to the unknown token.
        func id(_ token: String?) -> Int? { token.flatMap { file.tokenIDs[$0] ?? unknown } }
        let bos = id(config.bosToken), eos = id(config.eosToken)
        var post = file.postProcessor
        if let cls = config.tokenizerClass, Self.llamaFamilyClasses.contains(cls) {
            var template: [HFPostProcessor.Piece] = []
            if config.addBOSToken ?? true {
                guard let bos else {
                    throw .invalidFile(file: "tokenizer_config.json", at: "add_bos_token", reason: "true but there is no bos_token")
                }
                template.append(.tokens([bos]))
            }
            template.append(.sequence)
            if config.addEOSToken ?? false {
                guard let eos else {
                    throw .invalidFile(file: "tokenizer_config.json", at: "add_eos_token", reason: "true but there is no eos_token")
                }
                template.append(.tokens([eos]))
            }
            post = HFPostProcessor(templates: [template])
        }
        let (pipeline, middle, middleStart) = file.makePipeline(postProcessor: post)
        let affixes = post.affixes
        self.init(HFParts(
            kind: file.byteLevel ? .byteLevelBPE : .sentencePiece,
            vocabSize: file.vocabSize,
            bosTokenID: bos, eosTokenID: eos, paddingTokenID: id(config.padToken), unknownTokenID: unknown,
            addBOS: bos != nil && affixes?.prefix.first == bos,
            addEOS: eos != nil && affixes?.suffix.last == eos,
            addSpacePrefix: file.prependsSpace,
            chatTemplates: config.chatTemplates,
            modelMaxLength: config.modelMaxLength,
            tokens: file.tokenStrings, types: file.types, tokenIDs: file.tokenIDs,
            pieces: middle, pieceStart: middleStart, pipeline: pipeline))
    }
}
