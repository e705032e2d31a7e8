import Testing
import VLLMModels
@testable import VLLMTokenizers

@Suite struct TokenizerErrorTests {
    func error(_ md: [String: GGUFValue]) -> TokenizerError? {
        do {
            _ = try Tokenizer(metadata: md)
            return nil
        } catch {
            return error
        }
    }

    static let tokens: GGUFValue = .array(["a", "b", "ab"].map { .string($0) })

    @Test func unsupportedModelIsNamed() throws {
        let e = try #require(error(["tokenizer.ggml.model": .string("bert"), "tokenizer.ggml.tokens": Self.tokens]))
        #expect(e == .unsupportedModel("bert"))
        #expect(e.description.contains("'bert'"))
        // Named even when the rest of the tokenizer metadata is absent.
        #expect(error(["tokenizer.ggml.model": .string("rwkv")]) == .unsupportedModel("rwkv"))
    }

    @Test func unsupportedPreTokenizerIsNamed() throws {
        let e = try #require(error([
            "tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.pre": .string("bogus"),
            "tokenizer.ggml.tokens": Self.tokens, "tokenizer.ggml.merges": .array([.string("a b")]),
        ]))
        #expect(e == .unsupportedPreTokenizer("bogus"))
        #expect(e.description.contains("'bogus'") && e.description.contains("smollm"))
    }

    @Test func missingAndInvalidMetadata() {
        #expect(error([:]) == .missingMetadata(key: "tokenizer.ggml.model"))
        #expect(error(["tokenizer.ggml.model": .string("gpt2")]) == .missingMetadata(key: "tokenizer.ggml.tokens"))
        #expect(error(["tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.tokens": Self.tokens])
            == .missingMetadata(key: "tokenizer.ggml.merges"))
        #expect(error(["tokenizer.ggml.model": .uint8(1), "tokenizer.ggml.tokens": Self.tokens])
            == .invalidMetadata(key: "tokenizer.ggml.model", reason: "not a string"))
        let badTypes = error([
            "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": Self.tokens,
            "tokenizer.ggml.token_type": .array([.int32(1)]),
        ])
        guard case .invalidMetadata(key: "tokenizer.ggml.token_type", _) = badTypes else {
            Issue.record("expected invalid token_type, got \(String(describing: badTypes))")
            return
        }
        let badBOS = error([
            "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": Self.tokens,
            "tokenizer.ggml.bos_token_id": .uint32(3),
        ])
        guard case .invalidMetadata(key: "tokenizer.ggml.bos_token_id", _) = badBOS else {
            Issue.record("expected invalid bos id, got \(String(describing: badBOS))")
            return
        }
        let badMerge = error([
            "tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.tokens": Self.tokens,
            "tokenizer.ggml.merges": .array([.string("ab")]),
        ])
        guard case .invalidMetadata(key: "tokenizer.ggml.merges", _) = badMerge else {
            Issue.record("expected invalid merges, got \(String(describing: badMerge))")
            return
        }
    }

    /// "No such token" spelled -1 is absent, not an error.
    @Test func minusOneTokenIDMeansNone() throws {
        let t = try Tokenizer(metadata: [
            "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": Self.tokens,
            "tokenizer.ggml.eos_token_id": .int32(-1),
        ])
        #expect(t.eosTokenID == nil)
    }
}
