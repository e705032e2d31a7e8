import ArgumentParser
import VLLM
import VLLMCommandLine

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of TEXT as {\"count\": N, \"tokens\": [...]}.")

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Do not add the model's BOS/EOS tokens.")
    var noAddSpecialTokens = false

    @Argument(help: "The text (use -- before a text that starts with a dash; may be empty).")
    var text: String

    func run() throws {
        let tokenizer = try LoadedModel.loadTokenizer(modelOptions.tokenizer ?? modelOptions.model ?? DefaultModel.resolve())
        let ids = tokenizer.encode(text, addSpecialTokens: !noAddSpecialTokens)
        print(JSON.object([("count", .int(ids.count)), ("tokens", .array(ids.map { .int($0) }))]).encoded)
    }
}
