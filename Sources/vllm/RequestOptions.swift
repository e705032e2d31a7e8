import ArgumentParser
import VLLM
import VLLMCommandLine
import VLLMServer

/// The request-handling flags `vllm serve` and `vllm run-batch` share, and the server options
/// they give, so the two commands treat requests alike.
struct RequestOptions: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Model names requests may use; the first is reported (default: the model argument).")
    var servedModelName: [String] = []

    @Option(help: "Characters of each prompt shown in request logs (default: all).")
    var maxLogLen: Int?

    @Flag(help: "Report usage.prompt_tokens_details.cached_tokens: the prompt tokens the prefix cache supplied (when any).")
    var enablePromptTokensDetails = false

    func validate() throws {
        if let n = maxLogLen, n < 0 { throw ValidationError("--max-log-len must not be negative") }
    }

    func serverOptions(engine: EngineOptions, compatibility: CompatibilityOptions) throws -> ServerOptions {
        var options = ServerOptions()
        options.servedModelNames = servedModelName
        options.maxLogLen = maxLogLen
        options.enablePromptTokensDetails = enablePromptTokensDetails
        options.maxLogprobs = compatibility.maxLogprobs
        options.loraModules = try engine.engineArgs.loraModules
        return options
    }
}
