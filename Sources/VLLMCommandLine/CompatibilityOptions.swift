import ArgumentParser
import VLLM

/// vLLM engine flags that deployments pass by habit (`docker run vllm/vllm-openai … --dtype auto
/// --trust-remote-code`). Each is accepted where its vLLM meaning holds on this engine and
/// refused with a reason where it cannot, never silently dropped.
public struct CompatibilityOptions: ParsableArguments {
    public init() {}

    @Flag(help: "Accepted for vLLM compatibility: GGUF models carry no code to trust.")
    public var trustRemoteCode = false

    @Flag(help: "Accepted for vLLM compatibility: the CPU engine always runs eagerly (no graphs to capture).")
    public var enforceEager = false

    @Option(help: "Weight format: auto, safetensors, gguf, sharded_state (a directory `vllm save-sharded-state` wrote: each tensor-parallel rank maps its own file), or dummy (a GGUF file's shapes and tokenizer with every weight zero, nothing read: for tests).")
    public var loadFormat = "auto"

    /// What `--load-format` tells the engine: dummy weights or sharded state.
    public func applyLoadFormat(to args: inout EngineArgs) {
        args.dummyWeights = loadFormat == "dummy"
        args.shardedState = loadFormat == "sharded_state"
    }

    @Option(help: "Weight quantization: read from the GGUF file (gguf or unset; checkpoints are unquantized).")
    public var quantization: String?

    @Option(parsing: .unconditional, help: "Most logprobs a request may ask for per token (vLLM's default 20; -1: the whole vocabulary).")
    public var maxLogprobs = 20

    @Option(help: "vLLM's data-parallel backend: mp (replicas as processes, here MPI's); ray is not used.")
    public var dataParallelBackend = "mp"

    @Option(help: "vLLM's multi-node data-parallel launch (refused: mpirun starts every host's replicas, see --data-parallel-size).")
    public var dataParallelAddress: String?

    @Option(help: "vLLM's multi-node data-parallel launch (refused, as --data-parallel-address).")
    public var dataParallelRpcPort: Int?

    @Option(help: "vLLM's multi-node data-parallel launch (refused, as --data-parallel-address).")
    public var dataParallelStartRank: Int?

    @Flag(help: "vLLM's multi-node data-parallel launch (refused, as --data-parallel-address).")
    public var headless = false

    public func validate() throws {
        guard ["mp", "ray"].contains(dataParallelBackend) else { throw ValidationError("--data-parallel-backend must be mp or ray, got \(dataParallelBackend)") }
        if dataParallelBackend == "ray" {
            throw ValidationError("--data-parallel-backend ray is not supported: data-parallel replicas run as processes of one MPI job (mp)")
        }
        let multiNode = [dataParallelAddress.map { _ in "--data-parallel-address" }, dataParallelRpcPort.map { _ in "--data-parallel-rpc-port" },
                         dataParallelStartRank.map { _ in "--data-parallel-start-rank" }, headless ? "--headless" : nil].compactMap { $0 }
        if let flag = multiNode.first {
            throw ValidationError("\(flag) is not needed: replicas on several hosts are started together by mpirun and find each other through MPI, e.g. `mpirun -n 2 --host node1,node2 vllm serve MODEL --data-parallel-size 2`")
        }
        guard ["auto", "gguf", "safetensors", "sharded_state", "dummy"].contains(loadFormat) else {
            throw ValidationError("--load-format \(loadFormat) is not supported: models are safetensors checkpoints or GGUF files (use auto, safetensors, gguf, sharded_state or dummy)")
        }
        if let q = quantization, q != "gguf" {
            throw ValidationError("--quantization \(q) is not supported: the quantization comes from the GGUF file (leave it unset or use gguf)")
        }
        guard maxLogprobs >= -1 else { throw ValidationError("--max-logprobs must be -1 (the whole vocabulary) or more, got \(maxLogprobs)") }
    }
}
