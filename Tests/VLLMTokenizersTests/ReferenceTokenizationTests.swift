import Testing
import VLLMTestSupport
@testable import VLLMTokenizers

/// Agreement with llama.cpp / HF tokenizers on the shared SmolLM2 reference data.
@Suite struct ReferenceTokenizationTests {
    static func tokenizeCases() throws -> [TokenizeCase] {
        try TestPaths.referenceLines("tokenize.jsonl", as: TokenizeCase.self)
    }

    static func generationPrompts() throws -> [GenerationPrompt] {
        try TestPaths.referenceLines("generation.jsonl", as: GenerationPrompt.self)
    }

    @Test func metadata() throws {
        let t = try Fixtures.smolLM()
        #expect(t.kind == .byteLevelBPE)
        #expect(t.vocabSize == 49152)
        #expect(t.bosTokenID == 1)
        #expect(t.eosTokenID == 2)
        #expect(t.paddingTokenID == 2)
        #expect(!t.addBOS)
        #expect(!t.addEOS)
        #expect(t.chatTemplate?.contains("<|im_start|>") == true)
        #expect(t.tokenString(1) == "<|im_start|>")
        #expect(t.tokenString(49152) == nil)
        #expect(t.isSpecial(0) && t.isSpecial(2) && t.isSpecial(16))
        #expect(!t.isSpecial(17) && !t.isSpecial(-1))
        #expect(t.tokenID("<|im_end|>") == 2)
    }

    @Test func referenceHasAllCases() throws {
        #expect(try Self.tokenizeCases().count == 40)
        #expect(try Self.generationPrompts().count == 12)
    }

    @Test(arguments: try tokenizeCases())
    func encodeParsingSpecial(_ c: TokenizeCase) throws {
        let t = try Fixtures.smolLM()
        #expect(t.encode(c.text) == c.token_ids_parse_special, "\(c.id): \(c.text.debugDescription)")
    }

    @Test(arguments: try tokenizeCases())
    func encodeNotParsingSpecial(_ c: TokenizeCase) throws {
        let t = try Fixtures.smolLM()
        #expect(t.encode(c.text, parseSpecial: false) == c.token_ids_no_parse_special,
                "\(c.id): \(c.text.debugDescription)")
    }

    /// Decoding gives the text back exactly: with special tokens kept as their literal text when
    /// they were parsed, and trivially when they were tokenized as plain text.
    @Test(arguments: try tokenizeCases())
    func roundTrip(_ c: TokenizeCase) throws {
        let t = try Fixtures.smolLM()
        #expect(t.decode(c.token_ids_parse_special, skipSpecialTokens: false) == c.text, "\(c.id)")
        #expect(t.decode(c.token_ids_no_parse_special) == c.text, "\(c.id)")
        #expect(t.decode(t.encode(c.text), skipSpecialTokens: false) == c.text, "\(c.id)")
    }

    @Test(arguments: try generationPrompts())
    func promptTokens(_ p: GenerationPrompt) throws {
        let t = try Fixtures.smolLM()
        #expect(!p.add_bos)
        #expect(t.encode(p.prompt) == p.prompt_token_ids, "\(p.id)")
        #expect(t.decode(p.prompt_token_ids, skipSpecialTokens: false) == p.prompt, "\(p.id)")
    }
}
