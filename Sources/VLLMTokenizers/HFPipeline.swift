/// A `tokenizer.json` tokenizer at run time, in Hugging Face's order: added tokens are cut
/// out of the raw text, the rest is normalized, added tokens marked `normalized` are cut out of
/// that, the pre-tokenizer splits what is left into pieces, the BPE model encodes each piece,
/// and the post-processor adds the special tokens. Decoding runs the decoder chain.
final class HFPipeline: Sendable {
    let rawSplitter: AddedTokenSplitter
    let normalizedSplitter: AddedTokenSplitter
    let normalizer: HFNormalizer?
    let preTokenizer: [HFPreTokenizer]
    let model: HFBPE
    let postProcessor: HFPostProcessor
    let decoder: HFDecoder?
    /// Per id, the string the decoder receives (Hugging Face `id_to_token`).
    let tokenStrings: [String]
    /// Per id, whether `skip_special_tokens` drops it: its string is a special added token's.
    let special: [Bool]
    /// Per id, decoded bytes when it is the text's first token (see `HFDecoder.StreamForm`);
    /// the bytes elsewhere are the tokenizer's `tokenBytes`.
    let firstPieces: [UInt8]
    let firstPieceStart: [Int]
    let leadingStrip: (byte: UInt8, count: Int)?
    /// Whether the first pre-tokenizer step reads character classes, so the text's classes are
    /// worth computing once up front rather than per stretch between added tokens.
    private let classesUpFront: Bool

    init(rawSplitter: AddedTokenSplitter, normalizedSplitter: AddedTokenSplitter, normalizer: HFNormalizer?,
         preTokenizer: [HFPreTokenizer], model: HFBPE, postProcessor: HFPostProcessor, decoder: HFDecoder?,
         tokenStrings: [String], special: [Bool], firstPieces: [UInt8], firstPieceStart: [Int],
         leadingStrip: (byte: UInt8, count: Int)?) {
        self.rawSplitter = rawSplitter
        self.normalizedSplitter = normalizedSplitter
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.tokenStrings = tokenStrings
        self.special = special
        self.firstPieces = firstPieces
        self.firstPieceStart = firstPieceStart
        self.leadingStrip = leadingStrip
        switch preTokenizer.first {
        case let .split(p, _, _): classesUpFront = p.needsClasses
        case .byteLevel(_, true): classesUpFront = true
        default: classesUpFront = false
        }
    }

    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] {
        let s = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(s.count / 3 + 4)
        var raw: [Fragment] = []
        rawSplitter.split(s, 0..<s.count, parseSpecial: parseSpecial, into: &raw)
        let sharedClasses = normalizer == nil && classesUpFront && !s.isEmpty ? CharClass.classify(s) : nil
        var fragments: [Fragment] = []
        for f in raw {
            switch f {
            case let .token(id):
                ids.append(id)
            case let .text(r):
                let text: PipelineText
                let range: Range<Int>
                if let normalizer {
                    var t = PipelineText(scalars: Array(s[r]), origin: r.lowerBound == 0 ? 0..<1 : 0..<0)
                    normalizer.apply(&t)
                    text = t
                    range = 0..<t.scalars.count
                } else {
                    text = PipelineText(scalars: s, origin: 0..<1)
                    range = r
                }
                fragments.removeAll(keepingCapacity: true)
                normalizedSplitter.split(text.scalars, range, parseSpecial: parseSpecial, into: &fragments)
                for g in fragments {
                    switch g {
                    case let .token(id):
                        ids.append(id)
                    case let .text(piece):
                        var pieces = PieceList(text, piece, classes: normalizer == nil ? sharedClasses : nil)
                        HFPreTokenizer.run(preTokenizer, &pieces)
                        encode(pieces, into: &ids)
                    }
                }
            }
        }
        return postProcessor.apply(ids, addSpecialTokens: addSpecialTokens)
    }

    private func encode(_ pieces: PieceList, into ids: inout [Int]) {
        if pieces.byteLevel {
            var word: [UInt8] = []
            for r in pieces.ranges {
                word.removeAll(keepingCapacity: true)
                for u in pieces.text.scalars[r] { UTF8.encode(u) { word.append($0) } }
                model.encode(byteLevel: word, into: &ids)
            }
        } else {
            for r in pieces.ranges { model.encode(pieces.text.scalars[r], into: &ids) }
        }
    }

    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids where tokenStrings.indices.contains(id) {
            if skipSpecialTokens, special[id] { continue }
            tokens.append(tokenStrings[id])
        }
        // No decoder: Hugging Face joins the token strings with spaces.
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens)
    }

    func firstPiece(_ id: Int) -> ArraySlice<UInt8> { firstPieces[firstPieceStart[id]..<firstPieceStart[id + 1]] }
}
