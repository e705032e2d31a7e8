import Testing
import VLLMModels
import VLLMTestSupport
@testable import VLLMTokenizers

/// tokenizer.json tokenizers against Hugging Face's `tokenizers` library on the fixture strings:
/// every id and every decoded string must match exactly.
@Suite struct HFConformanceTests {
    /// Mismatch reports, capped so a broken tokenizer does not flood the log.
    struct Report {
        var count = 0
        var lines: [String] = []
        mutating func add(_ s: @autoclosure () -> String) {
            count += 1
            if lines.count < 8 { lines.append(s()) }
        }
        var summary: String { "\(count) mismatches; first:\n" + lines.joined(separator: "\n") }
    }

    @Test func fixturesCoverEveryTokenizer() throws {
        let e = try HFFixtures.expected()
        #expect(e.strings.count == 1200)
        #expect(Set(e.tokenizers.keys) == Set(HFFixtures.names))
        for n in HFFixtures.names {
            let x = e.tokenizers[n]!
            #expect(x.cases.count == x.count && x.count >= 300 && x.count <= e.strings.count, "\(n)")
            #expect(x.decodes.count == 150, "\(n)")
            #expect(try HFFixtures.tokenizer(n).vocabSize == e.tokenizers[n]!.vocab_size, "\(n)")
        }
    }

    @Test(arguments: HFFixtures.names)
    func encode(_ name: String) throws {
        let t = try HFFixtures.tokenizer(name)
        let e = try HFFixtures.expected()
        let x = e.tokenizers[name]!
        var r = Report()
        for (text, c) in zip(e.strings, x.cases) {
            let ids = c.ids ?? x.prefix + c.plain + x.suffix
            let got = t.encode(text)
            if got != ids { r.add("\(text.debugDescription)\n  want \(ids)\n  got  \(got)") }
            let plain = t.encode(text, addSpecialTokens: false)
            if plain != c.plain { r.add("no special tokens: \(text.debugDescription)\n  want \(c.plain)\n  got  \(plain)") }
            let raw = t.encode(text, parseSpecial: false)
            if raw != c.noParse ?? ids { r.add("not parsing special: \(text.debugDescription)\n  want \(c.noParse ?? ids)\n  got  \(raw)") }
        }
        #expect(r.count == 0, "\(name): \(r.summary)")
    }

    @Test(arguments: HFFixtures.names)
    func decode(_ name: String) throws {
        let t = try HFFixtures.tokenizer(name)
        let e = try HFFixtures.expected()
        let x = e.tokenizers[name]!
        var r = Report()
        for (text, c) in zip(e.strings, x.cases) {
            let ids = c.ids ?? x.prefix + c.plain + x.suffix
            let skip = c.skip ?? text
            let keep = c.keep ?? skip
            let gotSkip = t.decode(ids)
            if gotSkip != skip { r.add("\(ids) of \(text.debugDescription)\n  want \(skip.debugDescription)\n  got  \(gotSkip.debugDescription)") }
            let gotKeep = t.decode(ids, skipSpecialTokens: false)
            if gotKeep != keep { r.add("kept: \(ids)\n  want \(keep.debugDescription)\n  got  \(gotKeep.debugDescription)") }
        }
        for d in x.decodes {
            let gotSkip = t.decode(d.ids)
            if gotSkip != d.skip { r.add("random \(d.ids)\n  want \(d.skip.debugDescription)\n  got  \(gotSkip.debugDescription)") }
            let gotKeep = t.decode(d.ids, skipSpecialTokens: false)
            if gotKeep != d.keep ?? d.skip {
                r.add("random kept \(d.ids)\n  want \((d.keep ?? d.skip).debugDescription)\n  got  \(gotKeep.debugDescription)")
            }
        }
        #expect(r.count == 0, "\(name): \(r.summary)")
    }

    /// Streaming the fixture ids gives `decode`'s text; for arbitrary ids too, except where
    /// byte-fallback tokens form invalid UTF-8 (documented on `IncrementalDetokenizer`).
    @Test(arguments: HFFixtures.names)
    func incrementalDetokenizerMatchesDecode(_ name: String) throws {
        let t = try HFFixtures.tokenizer(name)
        let e = try HFFixtures.expected()
        let x = e.tokenizers[name]!
        var r = Report()
        func check(_ ids: [Int], _ skip: Bool) {
            var d = IncrementalDetokenizer(tokenizer: t, skipSpecialTokens: skip)
            let streamed = ids.map { d.feed($0) }.joined() + d.finish()
            let want = t.decode(ids, skipSpecialTokens: skip)
            if streamed != want { r.add("\(ids) skip=\(skip)\n  decode \(want.debugDescription)\n  stream \(streamed.debugDescription)") }
        }
        for (text, c) in zip(e.strings, x.cases) {
            let ids = c.ids ?? x.prefix + c.plain + x.suffix
            _ = text
            check(ids, true)
            check(ids, false)
        }
        for d in x.decodes {
            let byteTokens = d.ids.filter { HFDecoder.byteFallbackValue(t.tokenString($0) ?? "") != nil }
            if byteTokens.isEmpty || !(d.keep ?? d.skip).contains("\u{FFFD}") {
                check(d.ids, true)
                check(d.ids, false)
            }
        }
        #expect(r.count == 0, "\(name): \(r.summary)")
    }

    /// The same vocabulary read from the GGUF model and from tokenizer.json tokenizes alike.
    @Test func smolLMMatchesGGUF() throws {
        let json = try HFFixtures.tokenizer("smollm2")
        let gguf = try Fixtures.smolLM()
        #expect(json.vocabSize == gguf.vocabSize)
        #expect(json.bosTokenID == gguf.bosTokenID && json.eosTokenID == gguf.eosTokenID)
        #expect(json.addBOS == gguf.addBOS && json.addEOS == gguf.addEOS)
        var r = Report()
        for id in 0..<gguf.vocabSize where json.tokenBytes(id) != gguf.tokenBytes(id) || json.isSpecial(id) != gguf.isSpecial(id) {
            r.add("token \(id): \(gguf.tokenString(id) ?? "?")")
        }
        for text in try HFFixtures.expected().strings {
            for parse in [true, false] {
                let a = json.encode(text, parseSpecial: parse), b = gguf.encode(text, parseSpecial: parse)
                if a != b { r.add("\(text.debugDescription) parseSpecial=\(parse)\n  gguf \(b)\n  json \(a)") }
            }
        }
        #expect(r.count == 0, "\(r.summary)")
    }
}
