import VLLMModels

/// A text ↔ token-id codec built from a GGUF model's `tokenizer.*` metadata, reproducing
/// llama.cpp's (and for the supported models, Hugging Face's) tokenization, or from a Hugging
/// Face model directory's `tokenizer.json` with `tokenizers` semantics (see
/// `Tokenizer+HuggingFace.swift`).
///
/// Supported `tokenizer.ggml.model` values: `gpt2` (byte-level BPE, with the pre-tokenizers listed
/// in `TokenizerError.unsupportedPreTokenizer`'s message) and `llama` (SentencePiece BPE with
/// byte fallback). Immutable apart from an internal, locked cache: safe to share across threads.
public final class Tokenizer: Sendable {
    /// The tokenization algorithm.
    public enum Kind: Sendable, Equatable {
        case byteLevelBPE
        case sentencePiece
    }

    enum Model: Sendable {
        case byteLevel(ByteLevelBPE, PreTokenizer)
        case sentencePiece(SentencePiece)
        /// A tokenizer.json pipeline, which owns added-token matching, special tokens and decoding.
        case pipeline(HFPipeline)
    }

    public let kind: Kind
    /// Number of entries in the vocabulary (valid ids are `0..<vocabSize`).
    public let vocabSize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let paddingTokenID: Int?
    public let unknownTokenID: Int?
    /// Whether `encode(addSpecialTokens: true)` prepends BOS (`tokenizer.ggml.add_bos_token`;
    /// default true for SentencePiece, false for byte-level BPE, as in llama.cpp).
    public let addBOS: Bool
    /// Whether `encode(addSpecialTokens: true)` appends EOS (`tokenizer.ggml.add_eos_token`).
    public let addEOS: Bool
    /// SentencePiece only: a space is prepended to text at the start and after special tokens,
    /// and stripped again from the start of decoded text (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool
    /// The Jinja chat template (`tokenizer.chat_template`), if the model has one; for a Hugging
    /// Face directory the template named "default".
    public let chatTemplate: String?
    /// Every chat template by name ("default", and e.g. "tool_use" or "rag" where a model ships
    /// several); from GGUF metadata only "default".
    public let chatTemplates: [String: String]
    /// `model_max_length` of tokenizer_config.json; nil when absent or transformers' "no limit"
    /// (a value too large for `Int`, such as 1e30). Always nil for GGUF.
    public let modelMaxLength: Int?

    private let tokens: [String]
    private let types: [TokenType]
    private let tokenIDs: [String: Int]
    /// Every token's decoded bytes, concatenated; token i is `pieces[pieceStart[i]..<pieceStart[i+1]]`.
    private let pieces: [UInt8]
    private let pieceStart: [Int]
    private let splitter: SpecialTokenSplitter
    private let model: Model

    /// Everything a Hugging Face directory provides, assembled by `Tokenizer+HuggingFace.swift`.
    struct HFParts {
        var kind: Kind
        var vocabSize: Int
        var bosTokenID, eosTokenID, paddingTokenID, unknownTokenID: Int?
        var addBOS, addEOS, addSpacePrefix: Bool
        var chatTemplates: [String: String]
        var modelMaxLength: Int?
        var tokens: [String]
        var types: [TokenType]
        var tokenIDs: [String: Int]
        var pieces: [UInt8]
        var pieceStart: [Int]
        var pipeline: HFPipeline
    }

    init(_ p: HFParts) {
        kind = p.kind
        vocabSize = p.vocabSize
        bosTokenID = p.bosTokenID
        eosTokenID = p.eosTokenID
        paddingTokenID = p.paddingTokenID
        unknownTokenID = p.unknownTokenID
        addBOS = p.addBOS
        addEOS = p.addEOS
        addSpacePrefix = p.addSpacePrefix
        chatTemplates = p.chatTemplates
        chatTemplate = p.chatTemplates["default"]
        modelMaxLength = p.modelMaxLength
        tokens = p.tokens
        types = p.types
        tokenIDs = p.tokenIDs
        pieces = p.pieces
        pieceStart = p.pieceStart
        splitter = SpecialTokenSplitter(tokens: [], types: [])
        model = .pipeline(p.pipeline)
    }

    /// The `tokenizer.ggml.model` values this type implements.
    public static let supportedModels: Set<String> = ["gpt2", "llama"]

    /// Builds the tokenizer of a GGUF model file.
    public convenience init(gguf: GGUFFile) throws(TokenizerError) {
        try self.init(metadata: gguf.metadata)
    }

    /// Builds a tokenizer from GGUF-style metadata (`tokenizer.ggml.*` keys); useful for tests
    /// and for vocabularies that do not come from a model file.
    public init(metadata: [String: GGUFValue]) throws(TokenizerError) {
        // Name an unsupported model before complaining about the keys it lacks.
        if let name = metadata["tokenizer.ggml.model"]?.string, !Self.supportedModels.contains(name) {
            throw .unsupportedModel(name)
        }
        let md = try TokenizerMetadata(metadata)
        tokens = md.tokens
        types = md.types
        vocabSize = md.tokens.count
        bosTokenID = md.bosID
        eosTokenID = md.eosID
        paddingTokenID = md.paddingID
        unknownTokenID = md.unknownID
        chatTemplate = md.chatTemplate
        chatTemplates = md.chatTemplate.map { ["default": $0] } ?? [:]
        modelMaxLength = nil

        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        tokenIDs = ids

        switch md.model {
        case "gpt2":
            guard let pre = PreTokenizer(name: md.pre) else { throw .unsupportedPreTokenizer(md.pre ?? "") }
            guard metadata["tokenizer.ggml.merges"] != nil else { throw .missingMetadata(key: "tokenizer.ggml.merges") }
            kind = .byteLevelBPE
            model = .byteLevel(
                try ByteLevelBPE(tokenIDs: ids, mergeStrings: md.merges,
                                 ignoreMerges: pre.ignoreMerges, unknownID: md.unknownID),
                pre)
            // llama.cpp's llama3 pre-tokenizer family defaults to adding BOS.
            addBOS = md.addBOS ?? pre.ignoreMerges
            addSpacePrefix = false
        case "llama":
            kind = .sentencePiece
            model = .sentencePiece(SentencePiece(tokens: tokens, types: types, scores: md.scores, unknownID: md.unknownID))
            addBOS = md.addBOS ?? true
            addSpacePrefix = md.addSpacePrefix ?? true
        default:
            throw .unsupportedModel(md.model)
        }
        addEOS = md.addEOS ?? false
        splitter = SpecialTokenSplitter(tokens: tokens, types: types)
        (pieces, pieceStart) = Self.decodedPieces(tokens, types, kind)
    }

    private static func decodedPieces(_ tokens: [String], _ types: [TokenType], _ kind: Kind) -> ([UInt8], [Int]) {
        var bytes: [UInt8] = []
        var start: [Int] = [0]
        start.reserveCapacity(tokens.count + 1)
        for (t, type) in zip(tokens, types) {
            switch (kind, type) {
            case (_, .control), (_, .userDefined), (_, .unknown):
                // Special and added tokens are stored as their literal text.
                bytes.append(contentsOf: t.utf8)
            case (.byteLevelBPE, _):
                bytes.append(contentsOf: ByteLevel.bytes(of: t) ?? Array(t.utf8))
            case (.sentencePiece, .byte):
                if let b = SentencePiece.byteValue(t) { bytes.append(b) } else { bytes.append(contentsOf: t.utf8) }
            case (.sentencePiece, _):
                for u in t.unicodeScalars {
                    if u == SentencePiece.spaceMarker { bytes.append(0x20) } else { UTF8.encode(u) { bytes.append($0) } }
                }
            }
            start.append(bytes.count)
        }
        return (bytes, start)
    }

    // MARK: - Vocabulary

    /// The token's vocabulary string as stored in the model (byte-level BPE spells a space `Ġ`,
    /// SentencePiece `▁`); nil for an id outside the vocabulary.
    public func tokenString(_ id: Int) -> String? {
        tokens.indices.contains(id) ? tokens[id] : nil
    }

    /// The id whose vocabulary string is exactly `string`, if any.
    public func tokenID(_ string: String) -> Int? { tokenIDs[string] }

    /// The token's type; nil for an id outside the vocabulary.
    public func tokenType(_ id: Int) -> TokenType? {
        types.indices.contains(id) ? types[id] : nil
    }

    /// Whether `id` is a special token: a control token such as `<|im_end|>` (or, for GGUF, the
    /// unknown token; for tokenizer.json, a token whose string is a special added token's). These
    /// are the tokens `skipSpecialTokens` leaves out of decoded text.
    public func isSpecial(_ id: Int) -> Bool {
        guard types.indices.contains(id) else { return false }
        return types[id] == .control || types[id] == .unknown
    }

    /// The bytes token `id` decodes to (literal text for special tokens); empty for an id outside
    /// the vocabulary. A token may end inside a multi-byte character.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        guard tokens.indices.contains(id) else { return [] }
        return Array(pieces[pieceStart[id]..<pieceStart[id + 1]])
    }

    // MARK: - Encoding

    /// Token ids of `text`.
    /// - Parameters:
    ///   - addSpecialTokens: add BOS / EOS as the model's `addBOS` / `addEOS` say.
    ///   - parseSpecial: text that spells a control token (e.g. `<|im_start|>`) becomes that
    ///     token; when false it is tokenized as ordinary text. Added (user-defined) tokens are
    ///     recognised either way.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> [Int] {
        if case let .pipeline(p) = model {
            return p.encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial)
        }
        let s = Array(text.unicodeScalars)
        var out: [Int] = []
        out.reserveCapacity(s.count / 3 + 2)
        if addSpecialTokens, addBOS, let bos = bosTokenID { out.append(bos) }
        let fragments = splitter.split(s, parseSpecial: parseSpecial)
        switch model {
        case let .byteLevel(bpe, pre):
            let cls = CharClass.classify(s)
            var word: [UInt8] = []
            for f in fragments {
                switch f {
                case let .token(id):
                    out.append(id)
                case let .text(r):
                    for piece in pre.split(s, cls, r) {
                        word.removeAll(keepingCapacity: true)
                        for u in s[piece] { UTF8.encode(u) { word.append($0) } }
                        bpe.encode(word: word, into: &out)
                    }
                }
            }
        case let .sentencePiece(spm):
            // llama.cpp: the space prefix goes on text at the start and after every special token.
            var afterSpecial = true
            for f in fragments {
                switch f {
                case let .token(id):
                    out.append(id)
                    afterSpecial = true
                case let .text(r):
                    var escaped: [Unicode.Scalar] = []
                    escaped.reserveCapacity(r.count + 1)
                    if addSpacePrefix, afterSpecial { escaped.append(SentencePiece.spaceMarker) }
                    for u in s[r] { escaped.append(u == " " ? SentencePiece.spaceMarker : u) }
                    spm.encode(escaped, into: &out)
                    afterSpecial = false
                }
            }
        case .pipeline:
            preconditionFailure("handled above")
        }
        if addSpecialTokens, addEOS, let eos = eosTokenID { out.append(eos) }
        return out
    }

    // MARK: - Decoding

    /// Where the next streamed token falls in the decoded text: decoders treat its start
    /// specially (SentencePiece's space prefix, Metaspace's first token, a leading `Strip`).
    struct DecodePosition: Sendable {
        /// The next token that contributes is the text's first.
        var atStart: Bool
        /// Leading characters still to strip from the text (tokenizer.json `Strip` after `Fuse`).
        var leadingStrip: Int
    }

    /// The position of a new stream; `atSequenceStart` false continues after other text.
    func startPosition(atSequenceStart: Bool) -> DecodePosition {
        var strip = 0
        if atSequenceStart, case let .pipeline(p) = model { strip = p.leadingStrip?.count ?? 0 }
        return DecodePosition(atStart: atSequenceStart, leadingStrip: strip)
    }

    /// The bytes token `id` contributes to decoded text at `position` (which it advances), or
    /// nil when it contributes nothing (skipped special token, id outside the vocabulary).
    func decodedPiece(_ id: Int, skipSpecialTokens: Bool, position: inout DecodePosition) -> ArraySlice<UInt8>? {
        guard tokens.indices.contains(id) else { return nil }
        if skipSpecialTokens, isSpecial(id) { return nil }
        var p = pieces[pieceStart[id]..<pieceStart[id + 1]]
        if case let .pipeline(hf) = model {
            if position.atStart { p = hf.firstPiece(id) }
            position.atStart = false
            if let strip = hf.leadingStrip {
                while position.leadingStrip > 0, p.first == strip.byte {
                    p = p.dropFirst()
                    position.leadingStrip -= 1
                }
                if !p.isEmpty { position.leadingStrip = 0 }
            }
            return p
        }
        // SentencePiece's space prefix comes off the first token, unless that is a control token.
        if position.atStart, kind == .sentencePiece, addSpacePrefix, types[id] != .control, p.first == 0x20 {
            p = p.dropFirst()
        }
        position.atStart = false
        return p
    }

    /// The text of `ids`. Bytes that do not form valid UTF-8 become U+FFFD.
    /// - Parameter skipSpecialTokens: leave out control tokens (e.g. `<|im_end|>`); when false they
    ///   appear as their literal text.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        if case let .pipeline(p) = model { return p.decode(ids, skipSpecialTokens: skipSpecialTokens) }
        var bytes: [UInt8] = []
        var position = startPosition(atSequenceStart: true)
        for id in ids {
            guard let p = decodedPiece(id, skipSpecialTokens: skipSpecialTokens, position: &position) else { continue }
            bytes.append(contentsOf: p)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
