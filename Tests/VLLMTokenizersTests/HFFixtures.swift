import Foundation
@testable import VLLMTokenizers

/// The tokenizer.json fixtures and the Python `tokenizers` library's outputs for them, made by
/// scripts/make-tokenizer-fixtures.py.
enum HFFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf")

    static let names = ["smollm2", "llama2-legacy", "metaspace", "qwen2", "llama3", "splits", "o200k",
                        "gpt2", "metaspace-split", "origin", "unk-fused", "unk-separate", "no-unk"]

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private static let tokenizers: [String: Result<Tokenizer, TokenizerError>] = {
        var out: [String: Result<Tokenizer, TokenizerError>] = [:]
        for n in names { out[n] = Result { () throws(TokenizerError) in try Tokenizer(directory: path(n)) } }
        return out
    }()

    static func tokenizer(_ name: String) throws -> Tokenizer { try tokenizers[name]!.get() }

    private static let expectedResult = Result<Expected, any Error> {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    }

    static func expected() throws -> Expected { try expectedResult.get() }

    struct Expected: Decodable {
        let strings: [String]
        let tokenizers: [String: PerTokenizer]
    }

    struct PerTokenizer: Decodable {
        let vocab_size: Int
        /// How many of the strings (the first ones) this tokenizer was run on.
        let count: Int
        let prefix: [Int]
        let suffix: [Int]
        let cases: [Case]
        let decodes: [Decode]
    }

    /// One string's results. Fields the fixture writes as null follow from earlier ones.
    struct Case: Decodable {
        /// encode(addSpecialTokens: false)
        let plain: [Int]
        /// encode(addSpecialTokens: true); null = prefix + plain + suffix
        let ids: [Int]?
        /// special tokens not parsed (`encode_special_tokens`); null = ids
        let noParse: [Int]?
        /// decode(ids, skipSpecialTokens: true); null = the input text
        let skip: String?
        /// decode(ids, skipSpecialTokens: false); null = skip
        let keep: String?

        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            plain = try c.decode([Int].self)
            ids = try c.decodeIfPresent([Int].self)
            noParse = try c.decodeIfPresent([Int].self)
            skip = try c.decodeIfPresent(String.self)
            keep = try c.decodeIfPresent(String.self)
        }
    }

    /// Arbitrary ids and their decodes (skipping special tokens, then keeping them; null = same).
    struct Decode: Decodable {
        let ids: [Int]
        let skip: String
        let keep: String?

        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            ids = try c.decode([Int].self)
            skip = try c.decode(String.self)
            keep = try c.decodeIfPresent(String.self)
        }
    }
}
