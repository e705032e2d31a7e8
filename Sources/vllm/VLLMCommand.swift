import ArgumentParser
import VLLM

@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "swift-vllm: LLM inference and serving on CPU.",
        subcommands: [ServeCommand.self, RunBatchCommand.self, TokenizeCommand.self, GenerateCommand.self, BenchCommand.self, ChatTemplateCommand.self])
}
