import ArgumentParser
import VLLM

@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "swift-vllm: LLM inference and serving on CPU.",
        version: "swift-vllm \(swiftVLLMVersion) (the server API of vLLM 0.11.0)",
        subcommands: [ServeCommand.self, RunBatchCommand.self, TokenizeCommand.self, GenerateCommand.self, BenchCommand.self, ChatTemplateCommand.self,
                      SaveShardedStateCommand.self])
}
