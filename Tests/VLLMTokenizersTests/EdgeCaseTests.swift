import Testing
@testable import VLLMTokenizers

@Suite struct EdgeCaseTests {
    @Test func emptyText() throws {
        let t = try Fixtures.smolLM()
        #expect(t.encode("") == [])
        #expect(t.encode("", parseSpecial: false) == [])
        #expect(t.decode([]) == "")
    }

    @Test(arguments: [" ", "  ", "\t", "\n", " \n ", "\r\n\r\n", "a \t b", "x   ", "   x", "\u{3000}x\u{00A0}y"])
    func whitespaceRoundTrips(_ text: String) throws {
        let t = try Fixtures.smolLM()
        let ids = t.encode(text)
        #expect(!ids.isEmpty)
        #expect(t.decode(ids) == text)
    }

    @Test(arguments: ["🙂", "👨‍👩‍👧 family", "🇫🇷🇯🇵", "👍🏽", "漢字かなカナ한국어", "混合 text 和 emoji 🚀!", "e\u{301}"])
    func unicodeRoundTrips(_ text: String) throws {
        let t = try Fixtures.smolLM()
        #expect(t.decode(t.encode(text)) == text)
    }

    @Test func specialTokenStringsInsideText() throws {
        let t = try Fixtures.smolLM()
        let ids = t.encode("a<|im_end|>b<|im_start|><|im_start|>")
        #expect(ids.filter { $0 == 2 }.count == 1)
        #expect(ids.suffix(2) == [1, 1])
        #expect(t.decode(ids) == "ab")
        #expect(t.decode(ids, skipSpecialTokens: false) == "a<|im_end|>b<|im_start|><|im_start|>")
        // Not parsed: no control ids at all, but the same text back.
        let plain = t.encode("a<|im_end|>b", parseSpecial: false)
        #expect(!plain.contains { t.isSpecial($0) })
        #expect(t.decode(plain) == "a<|im_end|>b")
        // A truncated special string is ordinary text.
        #expect(!t.encode("<|im_end").contains(2))
    }

    @Test func addSpecialTokensFollowsModelFlags() throws {
        let t = try Fixtures.smolLM()
        // SmolLM2 has add_bos_token = false: nothing is added either way.
        #expect(t.encode("Hi", addSpecialTokens: true) == t.encode("Hi", addSpecialTokens: false))
    }

    @Test(arguments: [String(repeating: "a", count: 2_500),
                      String(repeating: "abcdefghijklmnopqrstuvwxyz", count: 100),
                      String(repeating: "x", count: 3_000) + " " + String(repeating: "9", count: 2_000)])
    func longWordIsFastAndRoundTrips(_ word: String) throws {
        let t = try Fixtures.smolLM()
        let clock = ContinuousClock()
        var ids: [Int] = []
        let elapsed = clock.measure { ids = t.encode(word) }
        #expect(elapsed < .seconds(1), "encoding \(word.count) chars took \(elapsed)")
        #expect(ids.count < word.utf8.count)
        #expect(t.decode(ids) == word)
    }

    @Test func invalidIDsDecodeToNothing() throws {
        let t = try Fixtures.smolLM()
        #expect(t.decode([-1, 49152, 1_000_000]) == "")
        #expect(t.tokenBytes(-5) == [])
    }

    @Test func lossyBytesBecomeReplacementCharacter() throws {
        let t = try Fixtures.smolLM()
        // The first token of 🙂 is an incomplete 4-byte sequence on its own.
        let ids = t.encode("🙂")
        #expect(ids.count >= 2)
        #expect(t.decode([ids[0]]) == "\u{FFFD}")
    }
}
