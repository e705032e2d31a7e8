import Foundation
import VLLMDistributed

/// A model loaded for generation: weights, tokenizer, generation defaults and the thread pool
/// they share. The model is a GGUF file or a Hugging Face checkpoint directory.
public struct LoadedModel: Sendable {
    /// The file or directory the weights came from.
    public let path: String
    public let model: DecoderModel
    public let tokenizer: Tokenizer
    /// The model's generation_config.json as `--generation-config` asks (nil: none or "vllm").
    public let generationConfig: GenerationConfig?
    /// `--load-format dummy`: every weight zero.
    public let dummyWeights: Bool
    /// With `--tensor-parallel-size` or `--pipeline-parallel-size` above 1, or data-parallel
    /// replicas in processes of their own: this rank's groups (`model` is this rank's part).
    public let tensorParallel: TensorParallelGroup?

    /// Loads `path` (or the default model) with `threads` compute threads (or on `pool`).
    public init(path: String?, threads: Int? = nil, maxBatchTokens: Int = 256,
                activationPrecision: ActivationPrecision = .float32, dtype: ModelDType = .auto,
                tokenizer tokenizerPath: String? = nil, generationConfig: String = "auto",
                revision: String? = nil, maxModelLen: Int? = nil, dummyWeights: Bool = false, shardedState: Bool = false,
                pool: ThreadPool? = nil, tensorParallel: TensorParallelGroup? = nil) throws {
        let source: ModelSource
        if shardedState {
            // The rank's own file of a directory `vllm save-sharded-state` wrote.
            guard let path else { throw ModelLoadError.cannotOpen(path: "", reason: "--load-format sharded_state needs --model DIR (a directory `vllm save-sharded-state` wrote)") }
            source = .file(try ShardedState.open(directory: path, rank: tensorParallel?.rank ?? 0, size: tensorParallel?.shard.size ?? 1,
                                                 stage: tensorParallel?.pipelineCommunicator?.stage).path)
        } else {
            source = try path.map { try ModelLocator().locate($0, revision: revision) } ?? .file(DefaultModel.resolve())
        }
        self.path = source.path
        self.dummyWeights = dummyWeights
        self.tensorParallel = tensorParallel
        // The ranks on one host share its cores.
        let pool = pool ?? ThreadPool(threadCount: threads ?? max(1, ThreadPool.availableCores / (tensorParallel?.localRanks ?? 1)))
        let part = tensorParallel?.communicator, stage = tensorParallel?.pipelineCommunicator
        // The architecture check comes first: its error says more than a tokenizer complaint.
        var gguf: GGUFFile?
        switch source {
        case let .directory(dir):
            if dummyWeights { throw ModelLoadError.unsupported(path: dir, reason: "--load-format dummy takes a GGUF file (its shapes with zero weights), not a checkpoint directory") }
            model = try DecoderModel(directory: dir, pool: pool, maxBatchTokens: maxBatchTokens,
                                     activationPrecision: activationPrecision, dtype: dtype, maxModelLen: maxModelLen,
                                     tensorParallel: part, pipeline: stage)
            tokenizer = try Self.loadTokenizer(tokenizerPath ?? dir)
        case let .file(file):
            let real = try GGUFFile(path: file)
            let file = dummyWeights ? try real.withZeroWeights() : real
            gguf = file
            model = try DecoderModel(gguf: file, pool: pool, maxBatchTokens: maxBatchTokens,
                                     activationPrecision: activationPrecision, dtype: dtype, maxModelLen: maxModelLen,
                                     tensorParallel: part, holdsOnlyShard: shardedState, pipeline: stage)
            tokenizer = try tokenizerPath.map(Self.loadTokenizer) ?? Self.tokenizer(gguf: file)
        }
        switch (generationConfig, source) {
        case ("vllm", _): self.generationConfig = nil
        case ("auto", .file):
            let tokenizer = self.tokenizer
            let g = GenerationConfig(gguf: gguf!, vocabSize: tokenizer.vocabSize) { text in
                tokenizer.tokenID(text).flatMap { tokenizer.isSpecial($0) ? $0 : nil }
            }
            self.generationConfig = g.eosTokenIDs.isEmpty ? nil : g
        case let ("auto", .directory(dir)): self.generationConfig = try GenerationConfig(directory: dir)
        default:
            guard let g = try GenerationConfig(directory: generationConfig) else {
                throw TokenizerLoadError(path: generationConfig, reason: "--generation-config: no generation_config.json in this directory")
            }
            self.generationConfig = g
        }
    }

    /// What tells these weights from others (the disk KV offloading tier keys on it): the path
    /// with each weight file's size and modification time.
    public var identity: String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let files = fm.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            ? ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted().map { (path as NSString).appendingPathComponent($0) }
            : [path]
        return ([path] + (dummyWeights ? ["dummy weights"] : []) + files.map { f in
            let a = (try? fm.attributesOfItem(atPath: f)) ?? [:]
            let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\((f as NSString).lastPathComponent) \(a[.size] as? Int ?? -1) \(mtime)"
        }).joined(separator: "\n")
    }

    /// Loads `path` (or the default model) as the engine settings `args` ask; with
    /// `--tensor-parallel-size` above 1, this rank's part of it (every rank learns whether all
    /// loaded theirs).
    public init(path: String?, args: EngineArgs, pool: ThreadPool? = nil) throws {
        let replicas = TensorParallelGroup.replicasAreProcesses(args) ? args.dataParallelSize : 1
        let group = TensorParallelGroup.worldSize(args) > 1
            ? try TensorParallelGroup.join(tensorParallelSize: args.tensorParallelSize, pipelineParallelSize: args.pipelineParallelSize,
                                           dataParallelSize: replicas) : nil
        do {
            try self.init(path: path, threads: args.threads, maxBatchTokens: args.forwardChunkTokens,
                          activationPrecision: args.activationDtype, dtype: args.dtype, tokenizer: args.tokenizer,
                          generationConfig: args.generationConfig, revision: args.revision, maxModelLen: args.maxModelLen,
                          dummyWeights: args.dummyWeights, shardedState: args.shardedState, pool: pool, tensorParallel: group)
        } catch {
            try group?.agreeLoaded(error)
            throw error
        }
        try group?.agreeLoaded(nil)
    }

    /// The draft model a draft-model `--speculative-config` names, on this model's threads or
    /// `pool` (a replica's: the two run one after the other); nil for other configs.
    public func draftModel(args: EngineArgs, pool: ThreadPool? = nil) throws -> DecoderModel? {
        guard case let .draftModel(name) = args.speculativeConfig?.method else { return nil }
        var draftArgs = args
        draftArgs.tokenizer = nil
        // The draft runs whole on rank 0.
        draftArgs.tensorParallelSize = 1
        draftArgs.pipelineParallelSize = 1
        return try LoadedModel(path: name, args: draftArgs, pool: pool ?? model.pool).model
    }

    /// An engine on this model, with its draft model when the config names one. On a worker
    /// rank of a tensor-parallel group there is no engine: the rank follows rank 0's steps and
    /// the process ends when rank 0 stops.
    public func engine(args: EngineArgs) throws -> LLMEngine {
        if let group = tensorParallel, group.size > 1 {
            guard group.rank == 0 else { group.runWorker(part: model) }
            return try LLMEngine(executor: group.executor(part: model), tokenizer: tokenizer, args: args,
                                 generationConfig: generationConfig, modelIdentity: identity, draftModel: draftModel(args: args))
        }
        return try LLMEngine(model: model, tokenizer: tokenizer, args: args, generationConfig: generationConfig,
                             modelIdentity: identity, draftModel: draftModel(args: args))
    }

    /// The tokenizer of a checkpoint directory (tokenizer.json), a GGUF file (its metadata) or
    /// a hub repo id.
    public static func loadTokenizer(_ model: String) throws -> Tokenizer {
        switch try ModelLocator().locate(model) {
        case let .directory(dir):
            do { return try Tokenizer(directory: dir) } catch { throw TokenizerLoadError(path: dir, reason: error.description) }
        case let .file(file):
            return try tokenizer(gguf: GGUFFile(path: file))
        }
    }

    private static func tokenizer(gguf: GGUFFile) throws -> Tokenizer {
        do { return try Tokenizer(gguf: gguf) } catch { throw TokenizerLoadError(path: gguf.path, reason: error.description) }
    }
}
