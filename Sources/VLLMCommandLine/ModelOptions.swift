import ArgumentParser
import VLLM

/// Which model file and how many compute threads; every model command takes them.
public struct ModelOptions: ParsableArguments {
    public init() {}

    @Option(help: "The model: a Hugging Face repo id (ORG/NAME, from the hub cache or downloaded), a checkpoint directory, or a GGUF file (default: the SmolLM2-135M-Instruct Q4_1 in the model cache).")
    public var model: String?

    @Option(help: "Hub revision of the model: a branch, tag or commit (default: main).")
    public var revision: String?

    @Option(help: "Tokenizer: a repo id, a directory with tokenizer.json, or a GGUF (default: the model's own).")
    public var tokenizer: String?

    @Option(help: "Weight dtype: auto (as the checkpoint stores them), bfloat16, float16 or float32 (activations are float32).")
    public var dtype = "auto"

    @Option(help: "Default sampling parameters: auto (the model's generation_config.json), vllm (vLLM's defaults) or a directory holding a generation_config.json.")
    public var generationConfig = "auto"

    @Option(help: "Compute threads (default: all cores).")
    public var threads: Int?

    public func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        guard ModelDType(vllmName: dtype) != nil else {
            throw ValidationError("--dtype must be auto, bfloat16, float16 (half) or float32 (float), got \(dtype)")
        }
    }
}

