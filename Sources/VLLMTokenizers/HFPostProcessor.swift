/// The single-sequence part of tokenizer.json's `post_processor`: what
/// `encode(addSpecialTokens: true)` puts around the text's ids. Pair templates, type ids and
/// offsets do not affect a single sequence's ids and are not kept.
struct HFPostProcessor: Sendable {
    enum Piece: Sendable, Equatable {
        /// The sequence itself (`$A`).
        case sequence
        case tokens([Int])
    }

    /// One template per processor of a `Sequence`, applied in order; empty for processors that
    /// add nothing (`ByteLevel`, null).
    let templates: [[Piece]]

    static let supportedTypes = ["TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence"]

    init(templates: [[Piece]]) { self.templates = templates }

    init(json node: JSONNode?, vocabSize: Int) throws(TokenizerError) {
        guard let node else {
            templates = []
            return
        }
        templates = try Self.parse(node, vocabSize)
    }

    private static func parse(_ node: JSONNode, _ vocabSize: Int) throws(TokenizerError) -> [[Piece]] {
        switch try node.typeTag() {
        case "ByteLevel":
            return []
        case "Sequence":
            var out: [[Piece]] = []
            for n in try node.required("processors").items() { out += try parse(n, vocabSize) }
            return out
        case "RobertaProcessing", "BertProcessing":
            // Single sequence: cls $A sep, each given as [token, id].
            func pair(_ key: String) throws(TokenizerError) -> Int {
                let p = try node.required(key).items()
                guard p.count == 2 else { throw node.fail("\(key) must be [token, id]") }
                _ = try p[0].string()
                return try p[1].int(in: 0...(vocabSize - 1))
            }
            return [[.tokens([try pair("cls")]), .sequence, .tokens([try pair("sep")])]]
        case "TemplateProcessing":
            var special: [String: [Int]] = [:]
            for (name, t) in try node.required("special_tokens").members() {
                var ids: [Int] = []
                for i in try t.required("ids").items() { ids.append(try i.int(in: 0...(vocabSize - 1))) }
                special[name] = ids
            }
            var pieces: [Piece] = []
            for item in try node.required("single").items() {
                let m = try item.members()
                guard m.count == 1 else { throw item.fail("expected {\"Sequence\": …} or {\"SpecialToken\": …}") }
                let id = try m[0].node.required("id").string()
                _ = try m[0].node.required("type_id").int(in: 0...Int(UInt32.max))
                switch m[0].key {
                case "Sequence":
                    // HF indexes the encodings by sequence: B has nothing to refer to here.
                    guard id == "A" else { throw m[0].node.fail("the single template can only use sequence A, found '\(id)'") }
                    pieces.append(.sequence)
                case "SpecialToken":
                    guard let ids = special[id] else {
                        throw m[0].node.fail("special token '\(id)' is not in special_tokens")
                    }
                    pieces.append(.tokens(ids))
                default:
                    throw item.fail("expected Sequence or SpecialToken, found '\(m[0].key)'")
                }
            }
            return [pieces]
        case let other:
            throw node.unsupported("post-processor type '\(other)' (supported: \(supportedTypes.joined(separator: ", ")))")
        }
    }

    /// `ids` as the post-processor returns them; without special tokens the templates still
    /// repeat the sequence as often as they name it.
    func apply(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
        var cur = ids
        for t in templates {
            var next: [Int] = []
            next.reserveCapacity(cur.count + 4)
            for p in t {
                switch p {
                case .sequence: next += cur
                case let .tokens(s): if addSpecialTokens { next += s }
                }
            }
            cur = next
        }
        return cur
    }

    /// The ids added before and after the sequence when its template names it once.
    var affixes: (prefix: [Int], suffix: [Int])? {
        guard templates.count <= 1 else { return nil }
        guard let t = templates.first else { return ([], []) }
        guard let k = t.firstIndex(of: .sequence), t.lastIndex(of: .sequence) == k else { return nil }
        func ids(_ s: ArraySlice<Piece>) -> [Int] {
            s.flatMap { p -> [Int] in if case let .tokens(i) = p { i } else { [] } }
        }
        return (ids(t[..<k]), ids(t[(k + 1)...]))
    }
}
