import ArgumentParser
import VLLM

@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "swift-vllm: LLM inference and serving on CPU.",
        subcommands: [ServeCommand.self, RunBatchCommand.self, TokenizeCommand.self, GenerateCommand.self, BenchCommand.self, ChatTemplateCommand.self])
}

/// Which model file and how many compute threads; every model command takes them.
struct ModelOptions: ParsableArguments {
    @Option(help: "Path to a GGUF model (default: the SmolLM2-135M-Instruct Q4_1 in the model cache).")
    var model: String?

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
    }
}

