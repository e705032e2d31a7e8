import Testing
import VLLMTestSupport
import VLLMModels
@testable import VLLMTokenizers

/// The default model's tokenizer, loaded once for the whole suite.
enum Fixtures {
    private static let smolLMResult = Result<Tokenizer, any Error> {
        try Tokenizer(gguf: GGUFFile(path: TestPaths.defaultModel))
    }

    static func smolLM() throws -> Tokenizer { try smolLMResult.get() }
}

/// One line of tokenize.jsonl.
struct TokenizeCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let text: String
    let token_ids_parse_special: [Int]
    let token_ids_no_parse_special: [Int]
    var testDescription: String { id }
}

/// The fields of generation.jsonl that concern tokenization.
struct GenerationPrompt: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let prompt: String
    let add_bos: Bool
    let prompt_token_ids: [Int]
    var testDescription: String { id }
}
