import Foundation
import Testing
@testable import VLLMTokenizers

/// What a Hugging Face directory's tokenizer_config.json, special_tokens_map.json and chat
/// template files contribute.
@Suite struct HFConfigTests {
    @Test func smolLM2() throws {
        let t = try HFFixtures.tokenizer("smollm2")
        #expect(t.kind == .byteLevelBPE)
        #expect(t.vocabSize == 49152)
        #expect(t.bosTokenID == 1 && t.eosTokenID == 2 && t.paddingTokenID == 2 && t.unknownTokenID == 0)
        #expect(!t.addBOS && !t.addEOS && !t.addSpacePrefix)
        #expect(t.modelMaxLength == 8192)
        #expect(t.chatTemplate?.contains("<|im_start|>") == true)
        #expect(Array(t.chatTemplates.keys) == ["default"])
        #expect(t.tokenString(1) == "<|im_start|>" && t.tokenID("<|im_end|>") == 2)
        #expect(t.tokenString(49152) == nil && t.tokenString(-1) == nil)
        #expect(t.isSpecial(0) && t.isSpecial(16) && !t.isSpecial(17) && !t.isSpecial(-1))
    }

    @Test func templateListAndLlamaFlags() throws {
        let t = try HFFixtures.tokenizer("llama2-legacy")
        #expect(t.kind == .sentencePiece && t.addSpacePrefix)
        #expect(Set(t.chatTemplates.keys) == ["default", "tool_use"])
        #expect(t.chatTemplate == t.chatTemplates["default"] && t.chatTemplate?.hasPrefix("{% for m in messages %}[INST]") == true)
        #expect(t.bosTokenID == 1 && t.eosTokenID == 2 && t.unknownTokenID == 0 && t.paddingTokenID == nil)
        #expect(t.addBOS && !t.addEOS)
        #expect(t.modelMaxLength == 4096)
        #expect(t.encode("Hi").first == 1)
    }

    @Test func specialTokenObjectsAndHugeMaxLength() throws {
        let t = try HFFixtures.tokenizer("metaspace")
        let n = 1500
        #expect(t.bosTokenID == n && t.eosTokenID == n + 1) // eos_token given as an AddedToken object
        #expect(t.addBOS && t.addEOS)
        #expect(t.modelMaxLength == nil) // 1e30: transformers' "no limit"
        #expect(t.chatTemplate == nil && t.chatTemplates.isEmpty)
    }

    @Test func templateFiles() throws {
        let t = try HFFixtures.tokenizer("qwen2")
        #expect(t.chatTemplate?.hasPrefix("{% for m in messages %}<|im_start|>") == true)
        #expect(t.chatTemplates["tool_use"]?.hasPrefix("{{ tools }}") == true)
        #expect(t.chatTemplates.count == 2)
        #expect(t.bosTokenID == nil && !t.addBOS)
        #expect(t.eosTokenID == t.tokenID("<|im_end|>") && t.paddingTokenID == t.tokenID("<|endoftext|>"))
        // A trailing slash names the same directory.
        #expect(try Tokenizer(directory: HFFixtures.path("qwen2") + "/").chatTemplates == t.chatTemplates)
    }

    @Test func templatePrecedence() throws {
        let config = Array(#"{"chat_template":"from config"}"#.utf8)
        let legacy = Array(#"{"chat_template":"from chat_template.json"}"#.utf8)
        #expect(try HFTokenizerConfig(config: config, specialTokensMap: nil, templateFiles: ["default": "file"],
                                      legacyTemplateJSON: legacy).chatTemplates == ["default": "file"])
        #expect(try HFTokenizerConfig(config: config, specialTokensMap: nil, templateFiles: [:],
                                      legacyTemplateJSON: legacy).chatTemplates == ["default": "from config"])
        #expect(try HFTokenizerConfig(config: nil, specialTokensMap: nil, templateFiles: [:],
                                      legacyTemplateJSON: legacy).chatTemplates == ["default": "from chat_template.json"])
    }

    @Test func specialTokensMapFillsGaps() throws {
        let json = try String(contentsOfFile: HFFixtures.path("llama2-legacy") + "/tokenizer.json", encoding: .utf8)
        let t = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: #"{"bos_token":"<s>"}"#,
                              specialTokensMapJSON: #"{"bos_token":"</s>","eos_token":{"content":"</s>"},"unk_token":"<unk>"}"#)
        #expect(t.bosTokenID == 1 && t.eosTokenID == 2 && t.unknownTokenID == 0)
        // A special token missing from the vocabulary maps to the unknown token, as in transformers.
        let u = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: #"{"bos_token":"<nope>","unk_token":"<unk>"}"#)
        #expect(u.bosTokenID == 0)
    }

    /// transformers 4's Llama-family tokenizers rebuild the post-processor from add_bos_token /
    /// add_eos_token; other classes keep tokenizer.json's.
    @Test func llamaFamilyPostProcessor() throws {
        let json = try String(contentsOfFile: HFFixtures.path("llama2-legacy") + "/tokenizer.json", encoding: .utf8)
        let plain = try Tokenizer(tokenizerJSON: json).encode("Hi", addSpecialTokens: false)
        let flipped = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: """
            {"tokenizer_class":"LlamaTokenizer","add_bos_token":false,"add_eos_token":true,"bos_token":"<s>","eos_token":"</s>"}
            """)
        #expect(flipped.encode("Hi") == plain + [2])
        #expect(!flipped.addBOS && flipped.addEOS)
        let defaults = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: """
            {"tokenizer_class":"LlamaTokenizerFast","bos_token":"<s>","eos_token":"</s>"}
            """)
        #expect(defaults.encode("Hi") == [1] + plain)
        let other = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: """
            {"tokenizer_class":"PreTrainedTokenizerFast","add_bos_token":false,"add_eos_token":true,"bos_token":"<s>","eos_token":"</s>"}
            """)
        #expect(other.encode("Hi") == [1] + plain)
    }

    @Test func streamingAfterOtherText() throws {
        let t = try HFFixtures.tokenizer("llama2-legacy")
        let ids = t.encode("Hello world", addSpecialTokens: false)
        var start = IncrementalDetokenizer(tokenizer: t)
        #expect(ids.map { start.feed($0) }.joined() + start.finish() == "Hello world")
        var cont = IncrementalDetokenizer(tokenizer: t, atSequenceStart: false)
        #expect(ids.map { cont.feed($0) }.joined() + cont.finish() == " Hello world")
        let m = try HFFixtures.tokenizer("metaspace")
        let mids = m.encode("a b", addSpecialTokens: false)
        var mcont = IncrementalDetokenizer(tokenizer: m, atSequenceStart: false)
        #expect(mids.map { mcont.feed($0) }.joined() + mcont.finish() == " a b")
    }

    @Test(arguments: ["smollm2", "llama2-legacy", "qwen2", "o200k"])
    func longWordsAreFast(_ name: String) throws {
        let t = try HFFixtures.tokenizer(name)
        for word in [String(repeating: "a", count: 5_000), String(repeating: "漢字", count: 2_000),
                     String(repeating: "x", count: 3_000) + " " + String(repeating: "9", count: 2_000)] {
            let clock = ContinuousClock()
            var ids: [Int] = []
            let elapsed = clock.measure { ids = t.encode(word, addSpecialTokens: false) }
            #expect(elapsed < .seconds(1), "\(name): \(word.count) characters took \(elapsed)")
            #expect(t.decode(ids) == word)
        }
    }
}
