import Testing
import VLLMModels
@testable import VLLMTokenizers

/// SentencePiece (`llama`) on a synthetic vocabulary whose expected ids are worked out by hand.
///
/// ids 0–2: `<unk>`, `<s>`, `</s>`; 3–258: `<0x00>`…`<0xFF>` (byte id = 3 + byte); then pieces.
@Suite struct SentencePieceTests {
    static let pieces: [(String, Float)] = [
        ("▁", -10), ("a", -20), ("b", -21), ("c", -22), ("ab", -5), ("bc", -3),
        ("▁a", -4), ("abc", -1), ("▁ab", -2), ("x", -30), ("xx", -6),
    ]
    // Piece ids, for readable expectations.
    static let sp = 259, a = 260, b = 261, ab = 263, spA = 265, abc = 266, spAB = 267, x = 268, xx = 269
    static let tool = 270 // a user-defined token

    static func byteID(_ b: UInt8) -> Int { 3 + Int(b) }

    static func metadata(model: String = "llama", addBOS: Bool = true) -> [String: GGUFValue] {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types = [2, 3, 3]
        var scores: [Float] = [0, 0, 0]
        for byte in 0..<256 {
            let hex = String(byte, radix: 16, uppercase: true)
            tokens.append("<0x\(hex.count == 1 ? "0" + hex : hex)>")
            types.append(6)
            scores.append(0)
        }
        for (p, s) in pieces {
            tokens.append(p)
            types.append(1)
            scores.append(s)
        }
        tokens.append("<tool>")
        types.append(4)
        scores.append(0)
        return [
            "tokenizer.ggml.model": .string(model),
            "tokenizer.ggml.tokens": .array(tokens.map { .string($0) }),
            "tokenizer.ggml.token_type": .array(types.map { .int32(Int32($0)) }),
            "tokenizer.ggml.scores": .array(scores.map { .float32($0) }),
            "tokenizer.ggml.unknown_token_id": .uint32(0),
            "tokenizer.ggml.bos_token_id": .uint32(1),
            "tokenizer.ggml.eos_token_id": .uint32(2),
            "tokenizer.ggml.add_bos_token": .bool(addBOS),
        ]
    }

    static func tokenizer() throws -> Tokenizer { try Tokenizer(metadata: metadata()) }

    func encode(_ text: String, parseSpecial: Bool = true) throws -> [Int] {
        try Self.tokenizer().encode(text, addSpecialTokens: false, parseSpecial: parseSpecial)
    }

    @Test func properties() throws {
        let t = try Self.tokenizer()
        #expect(t.kind == .sentencePiece)
        #expect(t.vocabSize == 271)
        #expect(t.addBOS && !t.addEOS && t.addSpacePrefix)
        #expect(t.isSpecial(0) && t.isSpecial(1) && !t.isSpecial(Self.tool))
    }

    /// "▁abc": bc (-3) beats ▁a (-4) and ab (-5); then abc (-1); "▁abc" is not a piece.
    @Test func highestScoreMergesFirst() throws {
        #expect(try encode("abc") == [Self.sp, Self.abc])
    }

    /// "▁ab": ▁a (-4) beats ab (-5), then ▁ab (-2).
    @Test func mergesChain() throws {
        #expect(try encode("ab") == [Self.spAB])
    }

    /// "▁xxx": two equal-score xx pairs; the leftmost merges, leaving "x".
    @Test func tiesGoLeftmost() throws {
        #expect(try encode("xxx") == [Self.sp, Self.xx, Self.x])
    }

    @Test func spacesBecomeMarkers() throws {
        #expect(try encode("a b") == [Self.spA, Self.sp, Self.b])
        #expect(try encode("  a") == [Self.sp, Self.sp, Self.spA])
    }

    /// "€" is not a piece: its UTF-8 bytes E2 82 AC fall back to byte tokens.
    @Test func byteFallback() throws {
        #expect(try encode("a€") == [Self.spA, Self.byteID(0xE2), Self.byteID(0x82), Self.byteID(0xAC)])
    }

    @Test func bosAndSpecialTokens() throws {
        let t = try Self.tokenizer()
        #expect(t.encode("") == [1])
        #expect(t.encode("<s>ab") == [1, 1, Self.spAB]) // the space prefix is re-added after <s>
        // Not parsed: "<s>" is plain text; '<' 's' '>' are not pieces, so bytes.
        #expect(t.encode("<s>ab", addSpecialTokens: false, parseSpecial: false) ==
            [Self.sp, Self.byteID(0x3C), Self.byteID(0x73), Self.byteID(0x3E), Self.ab])
        // A user-defined token is split out either way.
        #expect(try encode("a<tool>b", parseSpecial: false) == [Self.spA, Self.tool, Self.sp, Self.b])
    }

    @Test func decoding() throws {
        let t = try Self.tokenizer()
        #expect(t.decode([1, Self.sp, Self.abc]) == "abc")
        #expect(t.decode([Self.spA, Self.byteID(0xE2), Self.byteID(0x82), Self.byteID(0xAC)]) == "a€")
        #expect(t.decode([Self.spA, Self.sp, Self.b]) == "a b")
        #expect(t.decode([1, Self.spAB], skipSpecialTokens: false) == "<s> ab")
        #expect(t.decode([Self.spA, Self.tool]) == "a<tool>")
        for text in ["abc", "a b", "a€", "xxx", "  a", "b  c ", "日本"] {
            #expect(t.decode(t.encode(text)) == text, "\(text)")
        }
    }

    @Test func incrementalDetokenizer() throws {
        let t = try Self.tokenizer()
        var d = IncrementalDetokenizer(tokenizer: t)
        #expect(d.feed(1) == "")
        #expect(d.feed(Self.spA) == "a")
        #expect(d.feed(Self.byteID(0xE2)) == "")
        #expect(d.feed(Self.byteID(0x82)) == "")
        #expect(d.feed(Self.byteID(0xAC)) == "€")
        #expect(d.feed(Self.sp) == " ")
        #expect(d.finish() == "")
        // Continuing after a prompt keeps the first word's space.
        var cont = IncrementalDetokenizer(tokenizer: t, atSequenceStart: false)
        #expect(cont.feed(Self.spAB) == " ab")
    }
}
