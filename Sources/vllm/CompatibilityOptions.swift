import ArgumentParser

/// vLLM engine flags that deployments pass by habit (`docker run vllm/vllm-openai … --dtype auto
/// --trust-remote-code`). Each is accepted where its vLLM meaning holds on this engine and
/// refused with a reason where it cannot, never silently dropped.
struct CompatibilityOptions: ParsableArguments {
    @Option(help: "Compute dtype: auto or float32 (weights stay quantized; activations are float32).")
    var dtype = "auto"

    @Flag(help: "Accepted for vLLM compatibility: GGUF models carry no code to trust.")
    var trustRemoteCode = false

    @Flag(help: "Accepted for vLLM compatibility: the CPU engine always runs eagerly (no graphs to capture).")
    var enforceEager = false

    @Option(help: "Devices to split the model over; only 1 on one CPU host.")
    var tensorParallelSize = 1

    @Option(help: "Pipeline stages; only 1 on one CPU host.")
    var pipelineParallelSize = 1

    @Option(help: "Engine replicas; only 1 on one CPU host.")
    var dataParallelSize = 1

    @Option(help: "Tokenizer: the model's own (GGUF models carry theirs); any other path is refused.")
    var tokenizer: String?

    @Option(help: "Weight format: auto or gguf.")
    var loadFormat = "auto"

    @Option(help: "Weight quantization: read from the GGUF file (gguf or unset).")
    var quantization: String?

    @Option(help: "Most logprobs a request may ask for per token (vLLM's default 20).")
    var maxLogprobs = 20

    func validate() throws {
        guard ["auto", "float32", "float"].contains(dtype) else {
            throw ValidationError("--dtype \(dtype) is not supported: the CPU engine computes in float32 on quantized weights (use auto or float32)")
        }
        guard tensorParallelSize == 1 else {
            throw ValidationError("--tensor-parallel-size \(tensorParallelSize) is not supported: this build runs on one CPU host (use 1)")
        }
        guard pipelineParallelSize == 1 else {
            throw ValidationError("--pipeline-parallel-size \(pipelineParallelSize) is not supported: this build runs on one CPU host (use 1)")
        }
        guard dataParallelSize == 1 else {
            throw ValidationError("--data-parallel-size \(dataParallelSize) is not supported: this build runs one engine (use 1)")
        }
        guard ["auto", "gguf"].contains(loadFormat) else {
            throw ValidationError("--load-format \(loadFormat) is not supported: models are GGUF files (use auto or gguf)")
        }
        if let q = quantization, q != "gguf" {
            throw ValidationError("--quantization \(q) is not supported: the quantization comes from the GGUF file (leave it unset or use gguf)")
        }
        guard maxLogprobs >= 0 else { throw ValidationError("--max-logprobs must not be negative, got \(maxLogprobs)") }
    }

    /// Refuses a `--tokenizer` other than the model itself.
    func checkTokenizer(model: String?) throws {
        if let t = tokenizer, t != model {
            throw ValidationError("--tokenizer \(t) is not supported: the tokenizer comes from the GGUF model file")
        }
    }
}
