import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine

/// vLLM's `save_sharded_state` example as a command: each rank's part of the model in a file of
/// its own, for `--load-format sharded_state`.
struct SaveShardedStateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save-sharded-state",
        abstract: "Write each parallel rank's part of a GGUF model to DIR, for serving with --load-format sharded_state.",
        discussion: """
            Each rank's file (model-rank-R-part-0.gguf) holds the model's metadata and tokenizer \
            and that rank's slice of every weight of its pipeline stage's layers, in the weights' \
            own types. Serve the directory with `vllm serve DIR --load-format sharded_state \
            --tensor-parallel-size N [--pipeline-parallel-size P]` (the same N and P, and the same \
            VLLM_PP_LAYER_PARTITION if one was set).
            """)

    @Option(help: "The model: a GGUF file or a Hugging Face repo id whose snapshot holds one (default: the default model).")
    var model: String?

    @Option(help: "Hub revision of the model: a branch, tag or commit (default: main).")
    var revision: String?

    @Option(name: [.customLong("tensor-parallel-size"), .customLong("tp", withSingleDash: true)], help: "The group size the parts are for.")
    var tensorParallelSize: Int

    @Option(name: [.customLong("pipeline-parallel-size"), .customLong("pp", withSingleDash: true)],
            help: "The pipeline stages the parts are for (layers split as VLLM_PP_LAYER_PARTITION says, else evenly as vLLM does).")
    var pipelineParallelSize = 1

    @Option(help: "The directory to write (created if need be).")
    var output: String

    func validate() throws {
        guard tensorParallelSize >= 1 else { throw ValidationError("--tensor-parallel-size must be at least 1, got \(tensorParallelSize)") }
        guard pipelineParallelSize >= 1 else { throw ValidationError("--pipeline-parallel-size must be at least 1, got \(pipelineParallelSize)") }
    }

    func run() throws {
        let file: String
        switch try model.map({ try ModelLocator().locate($0, revision: revision) }) ?? .file(DefaultModel.resolve()) {
        case let .file(path): file = path
        case let .directory(dir):
            throw ValidationError("save-sharded-state takes a GGUF model; \(dir) is a checkpoint directory (safetensors checkpoints are not supported yet)")
        }
        let ranks = tensorParallelSize * pipelineParallelSize
        var progress = ProgressBar("Saving \(ranks) ranks' parts", total: ranks)
        try ShardedState.save(GGUFFile(path: file), size: tensorParallelSize, stages: pipelineParallelSize,
                              partition: PipelineStage.partition(from: ProcessInfo.processInfo.environment), to: output) { _ in progress.advance() }
        print("Saved \(file) for tensor parallel size \(tensorParallelSize)" + (pipelineParallelSize > 1 ? " and pipeline parallel size \(pipelineParallelSize)" : "") + " in \(output)")
    }
}
