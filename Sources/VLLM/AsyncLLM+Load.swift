extension AsyncLLM {
    /// Loads `model` (a GGUF path; nil: the default model) with the engine settings `args` and
    /// starts the engine loop.
    public convenience init(model: String? = nil, args: EngineArgs = EngineArgs()) throws {
        let loaded = try LoadedModel(path: model, args: args)
        self.init(engine: try loaded.engine(args: args))
    }
}

extension DataParallelLLM {
    /// `args.dataParallelSize` replicas of `model` (a GGUF path or directory; nil: the default
    /// model), its weights loaded once, each replica on its share of the cores (`--threads`
    /// each when given). Each sizes its KV cache as one engine would.
    public convenience init(model: String? = nil, args: EngineArgs) throws {
        var args = args
        let count = args.dataParallelSize
        let threads = args.threads ?? max(1, ThreadPool.availableCores / count)
        args.threads = threads
        let loaded = try LoadedModel(path: model, args: args)
        var replicas: [AsyncLLM] = []
        do {
            replicas.append(AsyncLLM(engine: try loaded.engine(args: args)))
            for rank in 1..<count {
                let pool = ThreadPool(threadCount: threads)
                var replicaArgs = args
                replicaArgs.dataParallelRank = rank
                replicas.append(AsyncLLM(engine: try LLMEngine(
                    model: loaded.model.replica(pool: pool), tokenizer: loaded.tokenizer, args: replicaArgs,
                    generationConfig: loaded.generationConfig, modelIdentity: loaded.identity,
                    draftModel: loaded.draftModel(args: args, pool: pool))))
            }
        } catch {
            replicas.forEach { $0.shutdown() }
            throw error
        }
        logInfo("Data parallel: \(count) engine replicas, \(threads) threads each, over one copy of the weights\n")
        self.init(replicas: replicas)
    }
}

/// The engine the serving commands drive: one, or `--data-parallel-size` replicas. When the
/// replicas are processes of an MPI job, a replica's first rank other than world rank 0 serves
/// its engine to rank 0 and never returns (nor do the other ranks: they follow their replica's
/// first rank).
public func makeEngineClient(model: String?, args: EngineArgs) throws -> any EngineClient {
    guard args.dataParallelSize > 1 else { return try AsyncLLM(model: model, args: args) }
    guard TensorParallelGroup.replicasAreProcesses(args) else { return try DataParallelLLM(model: model, args: args) }
    let loaded = try LoadedModel(path: model, args: args)
    let group = loaded.tensorParallel!
    var args = args
    args.dataParallelRank = group.dataParallelRank
    let llm = AsyncLLM(engine: try loaded.engine(args: args))
    guard group.worldRank == 0 else { group.serveReplica(llm) }
    logInfo("Data parallel: \(args.dataParallelSize) engine replicas of \(group.size) rank\(group.size == 1 ? "" : "s") each, in \(group.dataParallelSize * group.size) processes\n")
    return DataParallelLLM(engine: llm.engine, replicas: [llm] + group.remoteReplicas(validator: llm.engine))
}
