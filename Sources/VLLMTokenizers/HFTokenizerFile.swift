/// A parsed and validated `tokenizer.json` (Hugging Face `tokenizers` format version 1.0):
/// the BPE model, its added tokens and the pipeline components. Everything that could make
/// encoding or decoding misbehave is checked here, so the run-time code never meets a bad id.
///
/// Ids follow Hugging Face's own assignment (`AddedVocabulary::add_tokens`): an added token
/// takes its vocabulary id when the model has its content, otherwise the next id after the
/// model's; a file whose ids disagree with that (Hugging Face only warns) is refused, as are
/// holes in the id range, since the model's embedding rows are indexed by these ids.
/// `truncation` and `padding` are ignored, as transformers' `encode` ignores them.
struct HFTokenizerFile {
    static let maxVocab = 1 << 22
    static let maxMerges = 1 << 22
    static let maxAddedTokens = 1 << 20
    static let maxTokenBytes = 1 << 16

    var vocabSize: Int
    /// Per id, the string decoding and `tokenString` see.
    var tokenStrings: [String]
    /// Hugging Face `token_to_id`: added tokens first, then the model's vocabulary.
    var tokenIDs: [String: Int]
    var types: [TokenType]
    var special: [Bool]
    var unknownID: Int?
    var addedTokens: [HFAddedToken]
    var normalizer: HFNormalizer?
    var preTokenizer: [HFPreTokenizer]
    var model: HFBPE
    var postProcessor: HFPostProcessor
    var decoder: HFDecoder?
    private var rawSplitter: AddedTokenSplitter
    private var normalizedSplitter: AddedTokenSplitter

    var byteLevel: Bool {
        preTokenizer.contains { if case .byteLevel = $0 { true } else { false } }
            || decoder?.steps.contains { if case .byteLevel = $0 { true } else { false } } == true
    }

    /// Whether a `▁` (or space) is put before text at its start: a Metaspace that prepends, or a
    /// Prepend normalizer (SentencePiece's "add dummy prefix").
    var prependsSpace: Bool {
        for p in preTokenizer {
            if case let .metaspace(_, scheme, _) = p, scheme != .never { return true }
        }
        func prepends(_ n: HFNormalizer) -> Bool {
            switch n {
            case .prepend: true
            case let .sequence(l): l.contains(where: prepends)
            default: false
            }
        }
        return normalizer.map(prepends) ?? false
    }

    init(bytes: [UInt8], file: String = "tokenizer.json") throws(TokenizerError) {
        let root = JSONNode(try JSON.parse(bytes, file: file), file: file)
        _ = try root.members()
        if let v = try root.optional("version") {
            guard try v.string() == "1.0" else { throw v.fail("unknown tokenizer version '\(try v.string())'") }
        }
        let modelNode = try root.required("model")
        let m = try Self.readModel(modelNode)
        normalizer = try root.optional("normalizer").map { n throws(TokenizerError) in try HFNormalizer(json: n) }
        preTokenizer = try root.optional("pre_tokenizer").map { n throws(TokenizerError) in try HFPreTokenizer.steps(json: n) } ?? []
        decoder = try root.optional("decoder").map { n throws(TokenizerError) in try HFDecoder(json: n) }

        // Added tokens, assigned ids as Hugging Face does.
        var addedByContent: [String: Int] = [:]
        var addedByID: [Int: HFAddedToken] = [:]
        var order: [Int] = []
        var specialContents = Set<String>()
        var nextID = m.vocab.count
        let addedNodes = try root.optional("added_tokens")?.items() ?? []
        guard addedNodes.count <= Self.maxAddedTokens else {
            throw root.fail("more than \(Self.maxAddedTokens) added tokens")
        }
        for node in addedNodes {
            let t = try Self.readAddedToken(node)
            if t.content.isEmpty { continue }
            if let id = addedByContent[t.content], let old = addedByID[id], Self.sameFlags(old, t) { continue }
            let assigned: Int
            if let id = addedByContent[t.content] ?? m.vocab[t.content] {
                assigned = id
            } else {
                assigned = nextID
                nextID += 1
            }
            guard assigned == t.id else {
                throw node.fail("added token '\(Self.clip(t.content))' has id \(t.id) but its place gives it \(assigned) (ids must follow the vocabulary, then the added tokens in order)")
            }
            addedByContent[t.content] = assigned
            if addedByID[assigned] == nil { order.append(assigned) }
            addedByID[assigned] = t
            if t.special { specialContents.insert(t.content) }
        }
        addedTokens = order.map { addedByID[$0]! }

        let n = max(m.vocab.count, nextID)
        guard n > 0 else { throw modelNode.fail("the vocabulary is empty") }
        vocabSize = n
        var strings = [String?](repeating: nil, count: n)
        for (t, id) in m.vocab { strings[id] = t }
        // Normalized added tokens match, and decode, in their normalized form.
        var normalizedForm: [Int: String] = [:]
        if let normalizer {
            for t in addedTokens where t.normalized {
                var pt = PipelineText(scalars: Array(t.content.unicodeScalars), origin: 0..<1)
                normalizer.apply(&pt)
                var v = String.UnicodeScalarView()
                v.append(contentsOf: pt.scalars)
                let s = String(v)
                if s != t.content { normalizedForm[t.id] = s }
            }
        }
        for t in addedTokens { strings[t.id] = normalizedForm[t.id] ?? t.content }
        var tokenStrings: [String] = []
        tokenStrings.reserveCapacity(n)
        for (id, s) in strings.enumerated() {
            guard let s else { throw modelNode.fail("no token has id \(id) (ids must be 0..<\(n) without holes)") }
            tokenStrings.append(s)
        }
        self.tokenStrings = tokenStrings

        var tokenIDs = m.vocab
        for t in addedTokens { tokenIDs[t.content] = t.id }
        self.tokenIDs = tokenIDs
        unknownID = m.unknownID

        special = tokenStrings.map { specialContents.contains($0) }
        var types = [TokenType](repeating: .normal, count: n)
        if m.byteFallback {
            for b in 0..<256 { if let id = m.vocab[HFBPE.byteTokenName(UInt8(b))] { types[id] = .byte } }
        }
        for t in addedTokens { types[t.id] = .userDefined }
        for id in 0..<n where special[id] { types[id] = .control }
        self.types = types

        var raw: [(String, HFAddedToken)] = []
        var norm: [(String, HFAddedToken)] = []
        for t in addedTokens {
            if t.normalized { norm.append((normalizedForm[t.id] ?? t.content, t)) } else { raw.append((t.content, t)) }
        }
        for (list, what) in [(raw, "raw"), (norm, "normalized")] {
            var seen = Set<String>()
            for (p, t) in list where !seen.insert(p).inserted {
                // Hugging Face matches either of them, varying from run to run.
                throw root.fail("two \(what) added tokens look for the same text '\(Self.clip(p))' (id \(t.id)); which one matches would be arbitrary")
            }
        }
        rawSplitter = AddedTokenSplitter(raw)
        normalizedSplitter = AddedTokenSplitter(norm)
        model = HFBPE(vocab: m.vocab, merges: m.merges, unknownID: m.unknownID, fuseUnknown: m.fuseUnknown,
                      byteFallback: m.byteFallback, ignoreMerges: m.ignoreMerges)
        postProcessor = try HFPostProcessor(json: root.optional("post_processor"), vocabSize: n)
        if let decoder, case let .failure(e) = decoder.streamForm() {
            throw try root.required("decoder").unsupported("decoder \(e.step) cannot be streamed token by token: \(e.reason)")
        }
    }

    private static func clip(_ s: String) -> String { s.count > 60 ? String(s.prefix(60)) + "…" : s }

    private static func sameFlags(_ a: HFAddedToken, _ b: HFAddedToken) -> Bool {
        a.special == b.special && a.singleWord == b.singleWord && a.lstrip == b.lstrip && a.rstrip == b.rstrip
            && a.normalized == b.normalized
    }

    private static func readAddedToken(_ node: JSONNode) throws(TokenizerError) -> HFAddedToken {
        let content = try node.required("content").string()
        guard content.utf8.count <= maxTokenBytes else { throw node.fail("content longer than \(maxTokenBytes) bytes") }
        return HFAddedToken(
            id: try node.required("id").int(in: 0...(maxVocab - 1)),
            content: content,
            special: try node.optionalBool("special") ?? false,
            singleWord: try node.optionalBool("single_word") ?? false,
            lstrip: try node.optionalBool("lstrip") ?? false,
            rstrip: try node.optionalBool("rstrip") ?? false,
            normalized: try node.optionalBool("normalized") ?? true)
    }

    private struct Model {
        var vocab: [String: Int]
        var merges: BPEMerges
        var unknownID: Int?
        var fuseUnknown: Bool
        var byteFallback: Bool
        var ignoreMerges: Bool
    }

    private static func readModel(_ node: JSONNode) throws(TokenizerError) -> Model {
        let type = try node.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw node.unsupported("model type '\(type)' (supported: BPE)")
        }
        if let d = try node.optional("dropout") {
            let p: Double
            switch d.value {
            case let .int(v): p = Double(v)
            case let .double(v): p = v
            default: throw d.fail("expected a number, found \(d.value.typeName)")
            }
            guard p == 0 else { throw d.unsupported("BPE dropout (random tokenization)") }
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = try node.optionalString(key), !s.isEmpty {
                throw try node.required(key).unsupported("\(key) '\(s)'")
            }
        }
        let vocabNode = try node.required("vocab")
        let entries = try vocabNode.members()
        guard entries.count <= maxVocab else { throw vocabNode.fail("more than \(maxVocab) tokens") }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(entries.count)
        var owner = [String?](repeating: nil, count: entries.count)
        for (token, idNode) in entries {
            guard token.utf8.count <= maxTokenBytes else { throw idNode.fail("token longer than \(maxTokenBytes) bytes") }
            let id = try idNode.int(in: 0...(maxVocab - 1))
            guard id < entries.count else {
                throw idNode.fail("id \(id) is outside 0..<\(entries.count) (the vocabulary has \(entries.count) tokens)")
            }
            if let other = owner[id] { throw idNode.fail("id \(id) is also the id of '\(clip(other))'") }
            owner[id] = token
            vocab[token] = id
        }

        let unknownID: Int?
        if let unk = try node.optionalString("unk_token") {
            guard let id = vocab[unk] else {
                throw try node.required("unk_token").fail("unk_token '\(clip(unk))' is not in the vocabulary")
            }
            unknownID = id
        } else {
            unknownID = nil
        }

        let mergesNode = try node.required("merges")
        let items = try mergesNode.items()
        guard items.count <= maxMerges else { throw mergesNode.fail("more than \(maxMerges) merges") }
        var pairs: [(left: Int32, right: Int32, result: Int32)] = []
        pairs.reserveCapacity(items.count)
        var legacyFormat: Bool?
        for item in items {
            let left: String, right: String
            switch item.value {
            case let .string(line):
                guard legacyFormat != false else { throw item.fail("merges mix \"a b\" strings and [a, b] pairs") }
                legacyFormat = true
                if line.hasPrefix("#version") { continue }
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw item.fail("merge '\(clip(line))' is not two tokens separated by one space") }
                left = String(parts[0])
                right = String(parts[1])
            case .array:
                guard legacyFormat != true else { throw item.fail("merges mix \"a b\" strings and [a, b] pairs") }
                legacyFormat = false
                let p = try item.items()
                guard p.count == 2 else { throw item.fail("a merge must be a pair of tokens") }
                left = try p[0].string()
                right = try p[1].string()
            default:
                throw item.fail("expected a merge (\"a b\" or [a, b]), found \(item.value.typeName)")
            }
            guard let l = vocab[left] else { throw item.fail("merge names '\(clip(left))', which is not in the vocabulary") }
            guard let r = vocab[right] else { throw item.fail("merge names '\(clip(right))', which is not in the vocabulary") }
            guard let res = vocab[left + right] else {
                throw item.fail("merge result '\(clip(left + right))' is not in the vocabulary")
            }
            pairs.append((Int32(l), Int32(r), Int32(res)))
        }
        return Model(vocab: vocab, merges: BPEMerges(pairs, lastWins: true), unknownID: unknownID,
                     fuseUnknown: try node.optionalBool("fuse_unk") ?? false,
                     byteFallback: try node.optionalBool("byte_fallback") ?? false,
                     ignoreMerges: try node.optionalBool("ignore_merges") ?? false)
    }

    /// The run-time pipeline, with `postProcessor` (tokenizer_config.json may replace the file's).
    func makePipeline(postProcessor: HFPostProcessor) -> (pipeline: HFPipeline, middle: [UInt8], middleStart: [Int]) {
        var middle: [UInt8] = [], first: [UInt8] = []
        var middleStart = [0], firstStart = [0]
        middleStart.reserveCapacity(vocabSize + 1)
        firstStart.reserveCapacity(vocabSize + 1)
        var leading: (byte: UInt8, count: Int)?
        if let decoder, case let .success(form) = decoder.streamForm() {
            for t in tokenStrings {
                middle += form.middle(t)
                first += form.first(t)
                middleStart.append(middle.count)
                firstStart.append(first.count)
            }
            leading = form.leadingStrip
        } else {
            // No decoder: tokens are joined with spaces.
            for t in tokenStrings {
                middle.append(0x20)
                middle += t.utf8
                first += t.utf8
                middleStart.append(middle.count)
                firstStart.append(first.count)
            }
        }
        let p = HFPipeline(rawSplitter: rawSplitter, normalizedSplitter: normalizedSplitter, normalizer: normalizer,
                           preTokenizer: preTokenizer, model: model, postProcessor: postProcessor, decoder: decoder,
                           tokenStrings: tokenStrings, special: special, firstPieces: first,
                           firstPieceStart: firstStart, leadingStrip: leading)
        return (p, middle, middleStart)
    }
}
