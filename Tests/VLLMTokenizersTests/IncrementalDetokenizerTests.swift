import VLLMCompute
import Testing
@testable import VLLMTokenizers

@Suite struct IncrementalDetokenizerTests {
    func stream(_ t: Tokenizer, _ ids: [Int], skipSpecialTokens: Bool = true) -> [String] {
        var d = IncrementalDetokenizer(tokenizer: t, skipSpecialTokens: skipSpecialTokens)
        return ids.map { d.feed($0) } + [d.finish()]
    }

    @Test(arguments: ["こんにちは世界", "你好，世界！", "안녕하세요 세계", "🙂🚀🔥 emoji test 👨‍👩‍👧",
                      "🇫🇷 👍🏽 naïve", "مرحبا بالعالم"])
    func multiByteTextStreamsCleanly(_ text: String) throws {
        let t = try Fixtures.smolLM()
        let ids = t.encode(text)
        let chunks = stream(t, ids)
        for c in chunks { #expect(!c.unicodeScalars.contains("\u{FFFD}"), "broken chunk in \(text)") }
        #expect(chunks.joined() == t.decode(ids))
        #expect(chunks.joined() == text)
        #expect(chunks.last == "") // nothing was left to flush
    }

    @Test func tokenSplittingACharacterIsHeldBack() throws {
        let t = try Fixtures.smolLM()
        let ids = t.encode("🙂")
        #expect(ids.count >= 2)
        var d = IncrementalDetokenizer(tokenizer: t)
        for id in ids.dropLast() { #expect(d.feed(id) == "") }
        #expect(d.feed(ids.last!) == "🙂")
        #expect(d.finish() == "")
    }

    @Test func finishFlushesIncompleteBytesAsReplacement() throws {
        let t = try Fixtures.smolLM()
        let first = t.encode("🙂")[0]
        var d = IncrementalDetokenizer(tokenizer: t)
        #expect(d.feed(first) == "")
        #expect(d.finish() == "\u{FFFD}")
        #expect(t.decode([first]) == "\u{FFFD}")
    }

    @Test func specialTokens() throws {
        let t = try Fixtures.smolLM()
        let ids = t.encode("<|im_start|>assistant\nHi<|im_end|>")
        #expect(stream(t, ids).joined() == "assistant\nHi")
        #expect(stream(t, ids, skipSpecialTokens: false).joined() == "<|im_start|>assistant\nHi<|im_end|>")
    }

    /// Arbitrary token sequences (most are not valid UTF-8 as a whole) stream to exactly what
    /// `decode` gives, and no chunk but the final flush ever ends in a broken character.
    @Test func randomSequencesMatchDecode() throws {
        let t = try Fixtures.smolLM()
        var rng = SplitMix64(seed: 42)
        // Bias towards tokens that are parts of multi-byte characters.
        let partial = (0..<t.vocabSize).filter { t.tokenBytes($0).contains { $0 >= 0x80 } }
        for _ in 0..<200 {
            let n = Int(rng.next() % 12) + 1
            let ids = (0..<n).map { _ in
                rng.next() % 2 == 0 ? partial[Int(rng.next() % UInt64(partial.count))]
                                    : Int(rng.next() % UInt64(t.vocabSize))
            }
            let chunks = stream(t, ids, skipSpecialTokens: false)
            #expect(chunks.joined() == t.decode(ids, skipSpecialTokens: false), "\(ids)")
        }
    }

    @Test func completePrefixLength() {
        #expect(IncrementalDetokenizer.completePrefixLength([]) == 0)
        #expect(IncrementalDetokenizer.completePrefixLength([0x41]) == 1)
        #expect(IncrementalDetokenizer.completePrefixLength([0xE2, 0x82]) == 0)
        #expect(IncrementalDetokenizer.completePrefixLength([0x41, 0xE2, 0x82, 0xAC]) == 4)
        #expect(IncrementalDetokenizer.completePrefixLength([0x41, 0xF0, 0x9F]) == 1)
        #expect(IncrementalDetokenizer.completePrefixLength([0x41, 0xF0, 0x9F, 0x99, 0x82]) == 5)
        // Bytes that can never be completed are not held back (they decode to U+FFFD at once).
        #expect(IncrementalDetokenizer.completePrefixLength([0x80]) == 1)
        #expect(IncrementalDetokenizer.completePrefixLength([0x41, 0xFF]) == 2)
        #expect(IncrementalDetokenizer.completePrefixLength([0x80, 0x80, 0x80, 0x80, 0x80]) == 5)
    }
}

