import Foundation
import Testing
import VLLMModels
import VLLMStructuredOutput
import VLLMTestSupport
import VLLMTokenizers
@testable import VLLMEngine

/// Our allowed-token masks against xgrammar's (vLLM 0.11's grammar backend) on the default
/// model's vocabulary, step by step along token traces of valid outputs
/// (`scripts/make-grammar-fixtures.py` wrote them; each step holds xgrammar's allowed count and a
/// hash of its mask).
@Suite struct XGrammarMaskTests {
    static let fixture = TestPaths.repoRoot.appendingPathComponent("Tests/Fixtures/grammar/xgrammar-masks.json")

    /// FNV-1a over one byte per id (1: allowed), as the fixture script hashes.
    static func hash(_ mask: TokenBitmask) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in 0..<mask.vocabSize {
            h ^= mask.isAllowed(id) ? 1 : 0
            h = h &* 0x100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test func masksEqualXGrammarsAlongValidTraces() throws {
        let data = try Data(contentsOf: Self.fixture)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: TestPaths.defaultModel))
        let vocabSize = try #require(root["vocab_size"] as? Int)
        #expect(root["eos"] as? Int == tokenizer.eosTokenID)
        let info = TokenizerInfo(tokenizer: tokenizer, vocabSize: vocabSize)
        let cases = try #require(root["cases"] as? [[String: Any]])
        #expect(cases.count >= 15)
        var compared = 0
        for c in cases {
            let kind = c["kind"] as! String, spec = c["spec"] as! String, anyWhitespace = c["any_whitespace"] as! Bool
            let constraint: StructuredOutputSpec = kind == "json" ? .jsonSchema(spec) : kind == "regex" ? .regex(spec) : .grammar(spec)
            // With the precomputed token tables, as the engine runs it (the property test
            // covers tables made on first use).
            let grammar = try GrammarCompiler.compile(constraint, anyWhitespace: anyWhitespace)
            let matcher = GrammarMatcher(grammar, tokenizer: info, cache: GrammarMatcherCache(tables: grammar.tokenTables(for: info)))
            for (i, step) in (c["steps"] as! [[String: Any]]).enumerated() {
                var mask = TokenBitmask(vocabSize: vocabSize)
                matcher.fillNextTokenBitmask(&mask)
                let where_ = "\(kind) \(spec.prefix(60)) (any whitespace \(anyWhitespace)), text \(c["text"]!), step \(i)"
                #expect(mask.allowedCount == step["allowed"] as! Int, "\(where_): allowed count")
                #expect(Self.hash(mask) == step["hash"] as! String, "\(where_): mask")
                let token = step["token"] as! Int
                #expect(matcher.acceptToken(token), "\(where_): token \(token)")
                compared += 1
            }
            #expect(matcher.isTerminated)
        }
        #expect(compared > 200)
    }
}
