import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMJinja

struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation through a chat template and print the prompt exactly (no newline added).",
        discussion: """
            The template is the model's own (GGUF tokenizer.chat_template) unless --chat-template is \
            given; bos_token/eos_token default to the model's special tokens. With --chat-template \
            and no --model, no model is read.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A Jinja chat template file to use instead of the model's.")
    var chatTemplate: String?

    @Option(help: "JSON file with the list of messages.")
    var messages: String

    @Option(help: "JSON file with the list of tool schemas.")
    var tools: String?

    @Option(help: "JSON file with the list of documents.")
    var documents: String?

    @Flag(help: "Append the header that starts the assistant's reply.")
    var addGenerationPrompt = false

    @Flag(help: "End the prompt inside the final message so the model continues it.")
    var continueFinalMessage = false

    @Option(help: "The bos_token string the template sees.")
    var bosToken: String?

    @Option(help: "The eos_token string the template sees.")
    var eosToken: String?

    @Option(help: "A JSON object of extra template variables (vLLM's chat_template_kwargs).")
    var kwargs: String?

    func run() throws {
        var specialTokens: [String: String] = [:]
        var source: String?
        if chatTemplate == nil || modelOptions.model != nil {
            let tokenizer = try LoadedModel.loadTokenizer(modelOptions.tokenizer ?? modelOptions.model ?? DefaultModel.resolve())
            source = tokenizer.chatTemplate
            for (name, id) in [("bos_token", tokenizer.bosTokenID), ("eos_token", tokenizer.eosTokenID),
                               ("unk_token", tokenizer.unknownTokenID), ("pad_token", tokenizer.paddingTokenID)] {
                if let id { specialTokens[name] = String(decoding: tokenizer.tokenBytes(id), as: UTF8.self) }
            }
        }
        if let file = chatTemplate { source = try readText(file) }
        guard let source else { throw CLIError("the model has no chat template (tokenizer.chat_template); pass --chat-template FILE") }
        if let bosToken { specialTokens["bos_token"] = bosToken }
        if let eosToken { specialTokens["eos_token"] = eosToken }

        var extra: [(String, Value)] = []
        if let kwargs {
            guard case let .dict(d) = try Value(json: kwargs) else { throw CLIError("--kwargs must be a JSON object") }
            for (k, v) in zip(d.keys, d.values) { extra.append((k.pyStr, v)) }
        }
        let prompt = try ChatTemplate(source).apply(
            messages: try Value(json: readText(messages)), addGenerationPrompt: addGenerationPrompt,
            continueFinalMessage: continueFinalMessage, tools: try tools.map { try Value(json: readText($0)) },
            documents: try documents.map { try Value(json: readText($0)) }, specialTokens: specialTokens,
            extraKwargs: extra)
        FileHandle.standardOutput.write(Data(prompt.utf8))
    }

    private func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A one-line error for the command line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
