import Testing
@testable import VLLMTokenizers

/// Each tokenizer.json component on small cases, with expectations taken from Hugging Face's
/// `tokenizers` (0.23) run on the same inputs.
@Suite struct HFComponentTests {
    // MARK: - Pre-tokenizers

    func split(_ text: String, _ pattern: TextPattern, _ b: SplitBehavior, invert: Bool = false) -> [String] {
        let s = Array(text.unicodeScalars)
        var m: [(Range<Int>, Bool)] = []
        pattern.findMatches(s, CharClass.classify(s), 0..<s.count, into: &m)
        if invert { for k in m.indices { m[k].1.toggle() } }
        var out: [Range<Int>] = []
        b.apply(m, into: &out)
        return out.map { r in String(String.UnicodeScalarView(s[r])) }
    }

    @Test func splitBehaviorsFollowHuggingFace() {
        let t = "the-final--countdown", dash = TextPattern.literal(["-"])
        #expect(split(t, dash, .removed) == ["the", "final", "countdown"])
        #expect(split(t, dash, .removed, invert: true) == ["-", "-", "-"])
        #expect(split(t, dash, .isolated) == ["the", "-", "final", "-", "-", "countdown"])
        #expect(split(t, dash, .isolated, invert: true) == ["the", "-", "final", "-", "-", "countdown"])
        #expect(split(t, dash, .mergedWithPrevious) == ["the-", "final-", "-", "countdown"])
        #expect(split(t, dash, .mergedWithPrevious, invert: true) == ["the", "-final", "-", "-countdown"])
        #expect(split(t, dash, .mergedWithNext) == ["the", "-final", "-", "-countdown"])
        #expect(split(t, dash, .mergedWithNext, invert: true) == ["the-", "final-", "-", "countdown"])
        #expect(split(t, dash, .contiguous) == ["the", "-", "final", "--", "countdown"])
        #expect(split(t, dash, .contiguous, invert: true) == ["the", "-", "final", "--", "countdown"])
        #expect(split("a--b", .literal(["-", "-"]), .isolated) == ["a", "--", "b"])
        #expect(split("a1２b45", .stage(.eachNumber), .contiguous) == ["a", "1２", "b", "45"])
        #expect(split("a1２b45", .stage(.numberRuns), .isolated) == ["a", "1２", "b", "45"])
        #expect(split("a12", .stage(.eachNumber), .isolated) == ["a", "1", "2"])
    }

    func preTokenize(_ json: String, _ text: String) throws -> [String] {
        let steps = try HFPreTokenizer.steps(json: JSONNode(JSON.parse(Array(json.utf8), file: "t"), file: "t"))
        let s = Array(text.unicodeScalars)
        var p = PieceList(PipelineText(scalars: s, origin: 0..<1), 0..<s.count)
        HFPreTokenizer.run(steps, &p)
        p.materializeByteLevel()
        return p.ranges.map { String(String.UnicodeScalarView(p.text.scalars[$0])) }
    }

    @Test func metaspace() throws {
        let always = #"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"#
        #expect(try preTokenize(always, "  two  words") == ["▁", "▁two", "▁", "▁words"])
        let never = #"{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}"#
        #expect(try preTokenize(never, "Hey my friend") == ["Hey", "▁my", "▁friend"])
        let first = #"{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}"#
        #expect(try preTokenize(first, "Hey my") == ["▁Hey▁my"])
        // Only the piece holding the original first character counts as "first".
        let seq = #"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"String":","},"behavior":"Isolated","invert":false},"# + first + "]}"
        #expect(try preTokenize(seq, "a,b") == ["▁a", ",", "b"])
        // Legacy add_prefix_space: false must agree with the scheme, as Hugging Face checks.
        let legacy = #"{"type":"Metaspace","replacement":"▁","add_prefix_space":false}"#
        #expect(throws: TokenizerError.self) { try preTokenize(legacy, "x") }
    }

    @Test func byteLevelAndDigits() throws {
        let bl = #"{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"#
        #expect(try preTokenize(bl, "Hello world") == ["ĠHello", "Ġworld"])
        let noRegex = #"{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}"#
        #expect(try preTokenize(noRegex, "é x") == ["Ã©Ġx"])
        let digits = #"{"type":"Digits","individual_digits":false}"#
        #expect(try preTokenize(digits, "a123b45") == ["a", "123", "b", "45"])
        // A step after ByteLevel sees the byte-level characters.
        let after = #"{"type":"Sequence","pretokenizers":["# + noRegex + #",{"type":"Split","pattern":{"String":"Ġ"},"behavior":"Removed","invert":false}]}"#
        #expect(try preTokenize(after, "a b") == ["a", "b"])
    }

    /// Every hand-written regex matcher agrees with Swift's Regex running the same pattern on
    /// the fixture strings, which checks both the mapping table and the fallback engine.
    @Test(arguments: TextPattern.knownRegexes.keys.sorted())
    func knownRegexesAgreeWithSwiftRegex(_ source: String) throws {
        let stage = TextPattern.stage(TextPattern.knownRegexes[source]!)
        let regex = TextPattern.regex(try SwiftRegex(source, at: JSONNode(.null, file: "t")))
        var mismatches: [String] = []
        for text in try HFFixtures.expected().strings {
            let s = Array(text.unicodeScalars)
            let cls = CharClass.classify(s)
            var a: [(Range<Int>, Bool)] = [], b: [(Range<Int>, Bool)] = []
            stage.findMatches(s, cls, 0..<s.count, into: &a)
            regex.findMatches(s, cls, 0..<s.count, into: &b)
            if !a.elementsEqual(b, by: { $0.0 == $1.0 && $0.1 == $1.1 }) { mismatches.append(text.debugDescription) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ, e.g. \(mismatches.prefix(3))")
    }

    // MARK: - Normalizers

    func normalize(_ json: String, _ text: String) throws -> PipelineText {
        let n = try HFNormalizer(json: JSONNode(JSON.parse(Array(json.utf8), file: "t"), file: "t"))
        var t = PipelineText(scalars: Array(text.unicodeScalars), origin: 0..<1)
        n.apply(&t)
        return t
    }

    func string(_ t: PipelineText) -> String { String(String.UnicodeScalarView(t.scalars)) }

    @Test func unicodeForms() throws {
        #expect(try string(normalize(#"{"type":"NFC"}"#, "e\u{301}")) == "\u{E9}")
        #expect(try string(normalize(#"{"type":"NFD"}"#, "\u{E9}")).unicodeScalars.count == 2)
        #expect(try string(normalize(#"{"type":"NFKC"}"#, "ﬁ① Ａ")) == "fi1 A")
        #expect(try string(normalize(#"{"type":"NFKD"}"#, "ﬁ")) == "fi")
    }

    @Test func prependReplaceSequence() throws {
        let seq = #"{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"#
        #expect(try string(normalize(seq, "a b")) == "▁a▁b")
        #expect(try string(normalize(seq, "")) == "")
        #expect(try string(normalize(#"{"type":"Replace","pattern":{"Regex":"x+"},"content":"X"}"#, "axxbx")) == "aXbX")
    }

    /// Which characters stand for the original first one (what Metaspace "first" reads).
    @Test func originFollowsHuggingFaceAlignments() throws {
        // A prepended character aligns with the first one.
        #expect(try normalize(#"{"type":"Prepend","prepend":"▁"}"#, "ab").origin == 0..<2)
        // A replacement aligns with the last character of its match: "ab" → "X" is at offset 1.
        #expect(try normalize(#"{"type":"Replace","pattern":{"String":"ab"},"content":"X"}"#, "abc").origin.isEmpty)
        #expect(try normalize(#"{"type":"Replace","pattern":{"String":"a"},"content":"XY"}"#, "abc").origin == 0..<2)
        // Deleting the first character leaves the rest at their own offsets.
        #expect(try normalize(#"{"type":"Replace","pattern":{"String":"a"},"content":""}"#, "abc").origin.isEmpty)
    }

    // MARK: - BPE model

    @Test func mergesApplyByRank() throws {
        var j = TinyTokenizerJSON(chars: "abc", merges: [("b", "c"), ("a", "b")])
        let t = try j.tokenizer()
        #expect(t.strings(t.encode("abc")) == ["a", "bc"])
        j.merges = [("a", "b"), ("b", "c")]
        j.vocab.append("abc")
        j.merges.append(("ab", "c"))
        let u = try j.tokenizer()
        #expect(u.strings(u.encode("abc")) == ["abc"])
    }

    @Test func mergeFormatsAgree() throws {
        let pairs = TinyTokenizerJSON(chars: "abc", merges: [("a", "b"), ("ab", "c")])
        var legacy = pairs
        legacy.legacyMerges = ["#version: 0.2", "a b", "ab c"]
        #expect(legacy.json != pairs.json)
        let a = try pairs.tokenizer(), b = try legacy.tokenizer()
        #expect(a.encode("abcab") == b.encode("abcab"))
        #expect(b.strings(b.encode("abcab")) == ["abc", "ab"])
    }

    @Test func unknownCharacters() throws {
        // No unk token and no byte fallback: the character vanishes and its neighbours merge.
        var j = TinyTokenizerJSON(chars: "ab", merges: [("a", "b")])
        #expect(try j.tokenizer().strings(j.tokenizer().encode("a?b")) == ["ab"])
        j.vocab.append("<unk>")
        j.unk = "<unk>"
        j.model = #""fuse_unk":true"#
        let fused = try j.tokenizer()
        #expect(fused.strings(fused.encode("a??b")) == ["a", "<unk>", "b"])
        #expect(fused.strings(fused.encode("a?b?")) == ["a", "<unk>", "b", "<unk>"])
        j.model = #""fuse_unk":false"#
        let separate = try j.tokenizer()
        #expect(separate.strings(separate.encode("a??b")) == ["a", "<unk>", "<unk>", "b"])
        #expect(separate.unknownTokenID == 3)
    }

    @Test func byteFallback() throws {
        var j = TinyTokenizerJSON(chars: "ab", merges: [("a", "b")])
        j.vocab += ["<0xC3>", "<0xA9>"]
        j.model = #""byte_fallback":true"#
        let t = try j.tokenizer()
        #expect(t.strings(t.encode("aéb")) == ["a", "<0xC3>", "<0xA9>", "b"])
        // A character whose bytes are not all tokens vanishes (no unk token here).
        #expect(t.strings(t.encode("a€b")) == ["ab"])
        #expect(t.tokenType(3) == .byte)
    }

    @Test func ignoreMerges() throws {
        var j = TinyTokenizerJSON(chars: "abc")
        j.vocab.append("abc")
        #expect(try j.tokenizer().encode("abc") == [0, 1, 2])
        j.model = #""ignore_merges":true"#
        #expect(try j.tokenizer().encode("abc") == [3])
    }

    // MARK: - Added tokens

    @Test func lstripAndRstrip() throws {
        var j = TinyTokenizerJSON(chars: "xyz <>mask")
        j.addedJSON = [j.addedToken("<mask>", id: j.vocab.count, lstrip: true),
                       j.addedToken("<r>", id: j.vocab.count + 1, special: false, rstrip: true)]
        j.decoder = #"{"type":"Fuse"}"#
        let t = try j.tokenizer()
        #expect(t.strings(t.encode("x  <mask>  y")) == ["x", "<mask>", " ", " ", "y"])
        #expect(t.strings(t.encode("x  <r>  y")) == ["x", " ", " ", "<r>", "y"])
        #expect(t.strings(t.encode("<r> <mask>")) == ["<r>", "<mask>"])
        #expect(t.decode(t.encode("x  <mask>  y"), skipSpecialTokens: false) == "x<mask>  y")
    }

    @Test func singleWord() throws {
        var j = TinyTokenizerJSON(chars: "helo xy!_")
        j.addedJSON = [j.addedToken("hello", id: j.vocab.count, special: false, singleWord: true)]
        let t = try j.tokenizer()
        let hello = j.vocab.count
        #expect(t.encode("hello") == [hello])
        #expect(!t.encode("xhello").contains(hello))
        #expect(t.encode("hello!").first == hello)
        #expect(!t.encode("hello_").contains(hello))
        #expect(t.encode("x hello y").contains(hello))
        #expect(!t.encode("hellohello").contains(hello))
    }

    @Test func longestMatchAndConsumedDiscards() throws {
        var j = TinyTokenizerJSON(chars: "abc<>")
        let n = j.vocab.count
        j.addedJSON = [j.addedToken("<a>", id: n), j.addedToken("<a><b>", id: n + 1),
                       j.addedToken("ab", id: n + 2), j.addedToken("bc", id: n + 3, special: false)]
        let t = try j.tokenizer()
        #expect(t.strings(t.encode("<a><b>")) == ["<a><b>"])
        #expect(t.strings(t.encode("<a><c>")) == ["<a>", "<", "c", ">"])
        #expect(t.strings(t.encode("abc")) == ["ab", "c"])
        // Not parsing special tokens: "ab" is still found by the scan and then dropped, so the
        // non-special "bc" overlapping it is never seen.
        #expect(t.strings(t.encode("abc", parseSpecial: false)) == ["a", "b", "c"])
        #expect(t.strings(t.encode("<a><b>", parseSpecial: false)) == ["<", "a", ">", "<", "b", ">"])
        #expect(t.isSpecial(n) && !t.isSpecial(n + 3))
        #expect(t.tokenType(n) == .control && t.tokenType(n + 3) == .userDefined)
    }

    @Test func normalizedAddedTokensMatchTheirNormalizedForm() throws {
        var j = TinyTokenizerJSON(chars: "ab▁[]NEWTOK")
        j.normalizer = #"{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"#
        let id = j.vocab.count
        j.addedJSON = [j.addedToken("[NEWTOK]", id: id, special: false, normalized: true)]
        let t = try j.tokenizer()
        // The pattern is "▁[NEWTOK]": found after a space, not glued to a word.
        #expect(t.encode("a [NEWTOK] b").contains(id))
        #expect(!t.encode("a[NEWTOK]b").contains(id))
        // And it decodes as its normalized form.
        #expect(t.tokenString(id) == "▁[NEWTOK]")
        #expect(t.tokenID("[NEWTOK]") == id)
    }

    // MARK: - Post-processors

    @Test func templateProcessing() throws {
        var j = TinyTokenizerJSON(chars: "ab")
        j.added = ["<s>", "</s>"]
        j.postProcessor = #"""
            {"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},\#
            {"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],"pair":[],\#
            "special_tokens":{"<s>":{"id":"<s>","ids":[2],"tokens":["<s>"]},"</s>":{"id":"</s>","ids":[3],"tokens":["</s>"]}}}
            """#
        let t = try j.tokenizer(config: #"{"bos_token":"<s>","eos_token":"</s>"}"#)
        #expect(t.encode("ab") == [2, 0, 1, 3])
        #expect(t.encode("ab", addSpecialTokens: false) == [0, 1])
        #expect(t.encode("") == [2, 3])
        #expect(t.addBOS && t.addEOS && t.bosTokenID == 2 && t.eosTokenID == 3)
        #expect(t.decode([2, 0, 1, 3]) == "a b")
        #expect(t.decode([2, 0, 1, 3], skipSpecialTokens: false) == "<s> a b </s>")
    }

    @Test func robertaAndSequence() throws {
        var j = TinyTokenizerJSON(chars: "ab")
        j.added = ["<s>", "</s>"]
        j.postProcessor = #"""
            {"type":"Sequence","processors":[{"type":"ByteLevel","trim_offsets":false},\#
            {"type":"RobertaProcessing","sep":["</s>",3],"cls":["<s>",2],"trim_offsets":true,"add_prefix_space":true}]}
            """#
        let t = try j.tokenizer()
        #expect(t.encode("ab") == [2, 0, 1, 3])
        #expect(!t.addBOS) // no bos_token configured
    }

    // MARK: - Decoders

    func decode(_ json: String, _ tokens: [String]) throws -> String {
        try HFDecoder(json: JSONNode(JSON.parse(Array(json.utf8), file: "t"), file: "t")).decode(tokens)
    }

    @Test func decoders() throws {
        #expect(try decode(#"{"type":"ByteFallback"}"#, ["<0xE4>", "<0xBD>", "<0xA0>", "a"]) == "你a")
        // Invalid UTF-8 from byte tokens: one replacement character per byte.
        #expect(try decode(#"{"type":"ByteFallback"}"#, ["<0xE4>", "<0xBD>", "x", "<0xFF>"]) == "\u{FFFD}\u{FFFD}x\u{FFFD}")
        // Rust's from_str_radix takes a sign.
        #expect(try decode(#"{"type":"ByteFallback"}"#, ["<0x+F>", "<0xg1>", "<0x41>"]) == "\u{0F}<0xg1>A")
        #expect(try decode(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"}"#, ["▁▁a▁", "▁b"]) == "a b")
        #expect(try decode(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"never"}"#, ["▁▁a▁", "▁b"]) == "  a  b")
        #expect(try decode(#"{"type":"Strip","content":" ","start":1,"stop":1}"#, ["  a  ", " b"]) == " a b")
        #expect(try decode(#"{"type":"Strip","content":"x","start":2,"stop":0}"#, ["xxxa", "xb"]) == "xab")
        #expect(try decode(#"{"type":"Strip","content":" ","start":1,"stop":1}"#, [" "]) == "")
        #expect(try decode(#"{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"#,
                           [" ", " a"]) == " a")
        #expect(try decode(#"{"type":"ByteLevel"}"#, ["Ġhello", "Ġ", "wor", "ld", "ðŁ"]) == " hello world\u{FFFD}")
        #expect(try decode(#"{"type":"Replace","pattern":{"String":"▁"},"content":" "}"#, ["▁a▁", "b"]) == " a b")
    }

    @Test func noDecoderJoinsWithSpaces() throws {
        let t = try TinyTokenizerJSON(chars: "ab").tokenizer()
        #expect(t.decode([0, 1, 0]) == "a b a")
        var d = IncrementalDetokenizer(tokenizer: t)
        #expect([0, 1, 0].map { d.feed($0) }.joined() + d.finish() == "a b a")
    }

    @Test func streamingStripsAcrossEmptyFirstPieces() throws {
        var j = TinyTokenizerJSON(vocab: ["▁", "a", "b"])
        j.decoder = #"{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"Fuse"},{"type":"Strip","content":" ","start":2,"stop":0}]}"#
        let t = try j.tokenizer()
        for ids in [[0, 0, 0, 1], [0, 1, 0, 2], [1, 0], [0]] {
            var d = IncrementalDetokenizer(tokenizer: t)
            #expect(ids.map { d.feed($0) }.joined() + d.finish() == t.decode(ids), "\(ids)")
        }
        #expect(t.decode([0, 0, 0, 1]) == " a")
    }

    @Test func decodersThatCannotStreamAreRefused() {
        var j = TinyTokenizerJSON(chars: "ab")
        j.decoder = #"{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Strip","content":" ","start":0,"stop":1}]}"#
        guard case let .unsupportedFeature(file, at, _)? = j.error() else {
            Issue.record("expected unsupportedFeature, got \(String(describing: j.error()))")
            return
        }
        #expect(file == "tokenizer.json" && at == "decoder")
        j.decoder = #"{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Replace","pattern":{"String":"a"},"content":"b"}]}"#
        #expect(j.error() != nil)
    }
}
