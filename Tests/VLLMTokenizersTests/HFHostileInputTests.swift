import Testing
import VLLMCompute
@testable import VLLMTokenizers

/// Malformed and hostile tokenizer files give a `TokenizerError` that names the file, the place
/// and the problem; nothing crashes, hangs or allocates without bound.
@Suite struct HFHostileInputTests {
    enum Kind { case invalid, unsupported, unreadable }

    func load(_ json: String, config: String? = nil) -> TokenizerError? {
        do {
            _ = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: config)
            return nil
        } catch {
            return error
        }
    }

    func expectError(_ json: String, config: String? = nil, _ kind: Kind, file: String = "tokenizer.json",
                     at: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let e = load(json, config: config)
        switch (kind, e) {
        case let (.invalid, .invalidFile(f, a, r)?), let (.unsupported, .unsupportedFeature(f, a, r)?):
            #expect(f == file && a == at && r.contains(reason), "\(e!)", sourceLocation: sourceLocation)
        default:
            Issue.record("expected \(kind) at \(at), got \(e.map { "\($0)" } ?? "success")", sourceLocation: sourceLocation)
        }
    }

    /// A valid tiny document with one part replaced.
    func doc(model: String = #""vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]"#, added: String = "[]",
             normalizer: String = "null", pre: String = "null", post: String = "null", decoder: String = "null",
             extra: String = "") -> String {
        """
        {"version":"1.0","added_tokens":\(added),"normalizer":\(normalizer),"pre_tokenizer":\(pre),\
        "post_processor":\(post),"decoder":\(decoder),"model":{"type":"BPE"\(model.isEmpty ? "" : ",")\(model)}\(extra)}
        """
    }

    @Test func theBaseDocumentLoads() throws {
        let t = try Tokenizer(tokenizerJSON: doc())
        #expect(t.encode("abab") == [2, 2])
    }

    @Test(arguments: ["", "{", "{\"a\":1,}", "[1,2", "nul", "{\"a\" 1}", "\"\\ud800\"", "\"\\udc00x\"",
                      "\"a\u{01}b\"", "{} x", "01", "{\"a\":1,\"a\":2}", "\"\\x\"", "1e", "-", "[1,]"])
    func malformedJSON(_ text: String) {
        guard case let .invalidFile(file, at, reason)? = load(text) else {
            Issue.record("\(text.debugDescription) was not refused as malformed")
            return
        }
        #expect(file == "tokenizer.json" && at.hasPrefix("byte ") && reason.hasPrefix("malformed JSON"), "\(reason)")
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = Array("{\"version\":\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)
        #expect(throws: TokenizerError.self) { try HFTokenizerFile(bytes: bytes) }
    }

    @Test func deepNestingIsRefusedWithoutRecursingFar() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        guard case let .invalidFile(_, _, reason)? = load(deep) else {
            Issue.record("deep nesting not refused")
            return
        }
        #expect(reason.contains("nested deeper than 64"))
        var n = #"{"type":"NFC"}"#
        for _ in 0..<70 { n = #"{"type":"Sequence","normalizers":["# + n + "]}" }
        #expect(load(doc(normalizer: n)) != nil)
    }

    @Test func wrongShapes() {
        expectError("[]", .invalid, at: "top level", "expected an object")
        expectError(#"{"version":"2.0","model":{}}"#, .invalid, at: "version", "unknown tokenizer version")
        expectError(#"{"version":"1.0"}"#, .invalid, at: "top level", "missing 'model'")
        expectError(doc(model: #""vocab":["a","b"],"merges":[]"#), .invalid, at: "model.vocab", "expected an object")
        expectError(doc(model: #""vocab":{"a":"0"},"merges":[]"#), .invalid, at: "model.vocab.a", "expected an integer")
        expectError(doc(model: #""vocab":{"a":0},"merges":{}"#), .invalid, at: "model.merges", "expected an array")
        expectError(doc(model: #""vocab":{"a":0}"#), .invalid, at: "model", "missing 'merges'")
        expectError(doc(added: #"[{"id":3,"content":5}]"#), .invalid, at: "added_tokens[0].content", "expected a string")
        expectError(doc(added: #"[{"id":3,"content":"x","special":"yes"}]"#), .invalid, at: "added_tokens[0].special", "expected a bool")
        expectError(doc(normalizer: #"{"kind":"NFC"}"#), .invalid, at: "normalizer", "missing 'type'")
        expectError(doc(normalizer: "[]"), .invalid, at: "normalizer", "expected an object")
        expectError(doc(pre: #"{"type":"Metaspace","replacement":"ab"}"#), .invalid, at: "pre_tokenizer.replacement", "single character")
        expectError(doc(pre: #"{"type":"Split","pattern":{"String":"a"},"behavior":"Sideways","invert":false}"#),
                    .invalid, at: "pre_tokenizer", "unknown split behavior")
        expectError(doc(pre: #"{"type":"Split","pattern":{"Glob":"a"},"behavior":"Isolated","invert":false}"#),
                    .invalid, at: "pre_tokenizer.pattern", "found key 'Glob'")
        expectError(doc(decoder: #"{"type":"Strip","content":" ","start":1073741824,"stop":0}"#),
                    .invalid, at: "decoder.start", "outside")
    }

    @Test func idsAndMerges() {
        expectError(doc(model: #""vocab":{"a":0,"b":5},"merges":[]"#), .invalid, at: "model.vocab.b", "outside 0..<2")
        expectError(doc(model: #""vocab":{"a":0,"b":-1},"merges":[]"#), .invalid, at: "model.vocab.b", "outside")
        expectError(doc(model: #""vocab":{"a":0,"b":99999999999},"merges":[]"#), .invalid, at: "model.vocab.b", "outside")
        expectError(doc(model: #""vocab":{"a":0,"b":0},"merges":[]"#), .invalid, at: "model.vocab.b", "also the id of 'a'")
        expectError(doc(model: #""vocab":{"a":0,"b":1,"ab":2},"merges":[["a","c"]]"#),
                    .invalid, at: "model.merges[0]", "'c', which is not in the vocabulary")
        expectError(doc(model: #""vocab":{"a":0,"b":1},"merges":[["a","b"]]"#),
                    .invalid, at: "model.merges[0]", "merge result 'ab' is not in the vocabulary")
        expectError(doc(model: #""vocab":{"a":0,"b":1,"ab":2},"merges":["a b c"]"#),
                    .invalid, at: "model.merges[0]", "not two tokens")
        expectError(doc(model: #""vocab":{"a":0,"b":1,"ab":2},"merges":["a b",["a","b"]]"#),
                    .invalid, at: "model.merges[1]", "mix")
        expectError(doc(model: #""vocab":{"a":0,"b":1,"ab":2},"merges":[["a"]]"#), .invalid, at: "model.merges[0]", "pair")
        expectError(doc(model: #""vocab":{},"merges":[]"#), .invalid, at: "model", "empty")
        expectError(doc(model: #""unk_token":"<unk>","vocab":{"a":0},"merges":[]"#), .invalid, at: "model.unk_token", "not in the vocabulary")
        // Added tokens: the id must be the one Hugging Face assigns.
        expectError(doc(added: #"[{"id":7,"content":"<x>"}]"#), .invalid, at: "added_tokens[0]", "has id 7 but its place gives it 3")
        expectError(doc(added: #"[{"id":1,"content":"a"}]"#), .invalid, at: "added_tokens[0]", "has id 1 but its place gives it 0")
        expectError(doc(added: #"[{"id":3,"content":"<x>"},{"id":4,"content":"<x>","special":true}]"#),
                    .invalid, at: "added_tokens[1]", "has id 4 but its place gives it 3")
        // Two normalized tokens with one normalized form: Hugging Face picks either at random.
        expectError(doc(added: #"[{"id":3,"content":"x","normalized":true},{"id":4,"content":"y","normalized":true}]"#,
                        normalizer: #"{"type":"Replace","pattern":{"String":"y"},"content":"x"}"#),
                    .invalid, at: "top level", "look for the same text")
    }

    @Test func sizesAreCapped() {
        let long = String(repeating: "x", count: HFTokenizerFile.maxTokenBytes + 1)
        expectError(doc(model: #""vocab":{"\#(long)":0},"merges":[]"#), .invalid, at: "model.vocab.\(long)", "longer than")
        expectError(doc(added: #"[{"id":3,"content":"\#(long)"}]"#), .invalid, at: "added_tokens[0]", "longer than")
        let regex = String(repeating: "a", count: 5000)
        expectError(doc(pre: #"{"type":"Split","pattern":{"Regex":"\#(regex)"},"behavior":"Isolated","invert":false}"#),
                    .unsupported, at: "pre_tokenizer.pattern.Regex", "longer than 4096")
    }

    @Test func unsupportedFeaturesAreNamed() {
        expectError(doc(model: #""vocab":{"a":0},"merges":[]"#).replacingFirst(#""type":"BPE""#, with: #""type":"Unigram""#),
                    .unsupported, at: "model", "model type 'Unigram'")
        expectError(doc(model: #""dropout":0.1,"vocab":{"a":0},"merges":[]"#), .unsupported, at: "model.dropout", "dropout")
        expectError(doc(model: #""continuing_subword_prefix":"@@","vocab":{"a":0},"merges":[]"#),
                    .unsupported, at: "model.continuing_subword_prefix", "'@@'")
        expectError(doc(normalizer: #"{"type":"BertNormalizer"}"#), .unsupported, at: "normalizer", "normalizer type 'BertNormalizer'")
        expectError(doc(pre: #"{"type":"Whitespace"}"#), .unsupported, at: "pre_tokenizer", "pre-tokenizer type 'Whitespace'")
        expectError(doc(decoder: #"{"type":"WordPiece"}"#), .unsupported, at: "decoder", "decoder type 'WordPiece'")
        expectError(doc(post: #"{"type":"BertLike"}"#), .unsupported, at: "post_processor", "post-processor type 'BertLike'")
        expectError(doc(pre: #"{"type":"Split","pattern":{"Regex":"\\h+"},"behavior":"Isolated","invert":false}"#),
                    .unsupported, at: "pre_tokenizer.pattern.Regex", #"regex '\h+': \h is a hex digit"#)
        expectError(doc(pre: #"{"type":"Split","pattern":{"Regex":"(ab"},"behavior":"Isolated","invert":false}"#),
                    .unsupported, at: "pre_tokenizer.pattern.Regex", "regex '(ab' does not compile")
        expectError(doc(normalizer: #"{"type":"Replace","pattern":{"String":""},"content":"x"}"#),
                    .unsupported, at: "normalizer.pattern.String", "empty pattern")
    }

    @Test func postProcessorReferences() {
        let single = #"[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}]"#
        expectError(doc(post: #"{"type":"TemplateProcessing","single":\#(single),"pair":[],"special_tokens":{}}"#),
                    .invalid, at: "post_processor.single[0].SpecialToken", "'<s>' is not in special_tokens")
        expectError(doc(post: #"{"type":"TemplateProcessing","single":\#(single),"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[3],"tokens":["<s>"]}}}"#),
                    .invalid, at: "post_processor.special_tokens.<s>.ids[0]", "outside 0…2")
        expectError(doc(post: #"{"type":"TemplateProcessing","single":[{"Sequence":{"id":"B","type_id":0}}],"pair":[],"special_tokens":{}}"#),
                    .invalid, at: "post_processor.single[0].Sequence", "only use sequence A")
        expectError(doc(post: #"{"type":"RobertaProcessing","sep":["</s>",9],"cls":["<s>",0]}"#),
                    .invalid, at: "post_processor.sep[1]", "outside")
    }

    @Test func configFiles() {
        expectError(doc(), config: #"{"bos_token":5}"#, .invalid, file: "tokenizer_config.json", at: "bos_token", "expected a string or an object")
        expectError(doc(), config: #"{"chat_template":7}"#, .invalid, file: "tokenizer_config.json", at: "chat_template", "expected a string or a list")
        expectError(doc(), config: #"{"chat_template":[{"template":"x"}]}"#, .invalid, file: "tokenizer_config.json",
                    at: "chat_template[0]", "missing 'name'")
        expectError(doc(), config: #"{"chat_template":[{"name":"a","template":"x"},{"name":"a","template":"y"}]}"#,
                    .invalid, file: "tokenizer_config.json", at: "chat_template[1]", "two chat templates are named 'a'")
        expectError(doc(), config: #"{"model_max_length":"big"}"#, .invalid, file: "tokenizer_config.json", at: "model_max_length", "expected a number")
        expectError(doc(), config: #"{"tokenizer_class":"LlamaTokenizerFast"}"#, .invalid, file: "tokenizer_config.json",
                    at: "add_bos_token", "no bos_token")
        expectError(doc(), config: "{", .invalid, file: "tokenizer_config.json", at: "byte 1", "malformed JSON")
    }

    @Test func directoryErrors() throws {
        #expect(throws: TokenizerError.unreadableFile(path: "/nonexistent/tokenizer.json",
                                                      reason: "no such file (a Hugging Face tokenizer needs tokenizer.json)")) {
            try Tokenizer(directory: "/nonexistent")
        }
        // A directory named tokenizer.json is not a file.
        let dir = HFFixtures.directory.path
        #expect(throws: TokenizerError.unreadableFile(path: dir + "/qwen2/tokenizer.json/tokenizer.json",
                                                      reason: "Not a directory")) {
            try Tokenizer(directory: dir + "/qwen2/tokenizer.json")
        }
        #expect(throws: TokenizerError.self) { try TokenizerFiles.read(dir + "/smollm2", limit: 10) }
        // Over the cap: refused before reading.
        do {
            _ = try TokenizerFiles.read(dir + "/smollm2/tokenizer.json", limit: 1000)
            Issue.record("an oversized file was read")
        } catch let .unreadableFile(_, reason) {
            #expect(reason.contains("over the"))
        } catch {
            Issue.record("\(error)")
        }
    }

    /// Random damage to a small document that uses every component: each load either fails
    /// with a TokenizerError or gives a tokenizer that encodes, decodes and streams without
    /// crashing.
    @Test func mutatedDocumentsNeverCrash() throws {
        var base = TinyTokenizerJSON(chars: "abc ▁<>0123456789xyz", merges: [("a", "b"), ("ab", "c"), ("▁", "a")])
        base.vocab += ["<0xC3>", "<0xA9>", "<unk>"]
        base.unk = "<unk>"
        base.model = #""byte_fallback":true,"fuse_unk":true,"ignore_merges":false"#
        base.added = ["<s>", "</s>"]
        base.normalizer = #"{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Replace","pattern":{"Regex":"x+"},"content":"x"}]}"#
        base.preTokenizer = #"{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"Split","pattern":{"String":"c"},"behavior":"MergedWithNext","invert":false},{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}]}"#
        base.postProcessor = #"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[\#(base.vocab.count)],"tokens":["<s>"]}}}"#
        base.decoder = #"{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"#
        let original = Array(base.json.utf8)
        _ = try Tokenizer(tokenizerJSON: base.json)
        var rng = SplitMix64(seed: 7)
        let fragments = ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "0", "-1", "4294967296", "\"a\"", "\"\\u0000\"", "1e9"]
        var loaded = 0, refused = 0
        for _ in 0..<3000 {
            var b = original
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 5 {
                case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.removeSubrange(i..<min(b.count, i + 1 + Int(rng.next() % 8)))
                case 2: b.insert(contentsOf: Array(fragments[Int(rng.next() % UInt64(fragments.count))].utf8), at: i)
                case 3: b[i] = [UInt8(ascii: "0"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "\""), UInt8(ascii: " ")][Int(rng.next() % 5)]
                default:
                    let j = Int(rng.next() % UInt64(b.count))
                    b.insert(contentsOf: b[min(i, j)..<min(b.count, min(i, j) + 16)], at: max(i, j))
                }
                if b.isEmpty { b = [0x7B] }
            }
            do {
                let t = try Tokenizer(tokenizerJSON: b, config: HFTokenizerConfig())
                loaded += 1
                for text in ["abc 123", "<s>a▁b</s>", "é x  xx", "", "zzz"] {
                    let ids = t.encode(text)
                    #expect(ids.allSatisfy { (0..<t.vocabSize).contains($0) })
                    var d = IncrementalDetokenizer(tokenizer: t, skipSpecialTokens: false)
                    _ = ids.map { d.feed($0) }.joined() + d.finish()
                    _ = t.decode(ids + [-1, t.vocabSize, 0])
                }
            } catch {
                refused += 1
            }
        }
        #expect(loaded > 100 && refused > 1000, "loaded \(loaded), refused \(refused)")
    }
}

extension String {
    func replacingFirst(_ a: String, with b: String) -> String {
        var s = self
        if let r = s.firstRange(of: a) { s.replaceSubrange(r, with: b) }
        return s
    }
}
