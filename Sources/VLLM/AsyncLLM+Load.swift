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
            for _ in 1..<count {
                let pool = ThreadPool(threadCount: threads)
                replicas.append(AsyncLLM(engine: try LLMEngine(
                    model: loaded.model.replica(pool: pool), tokenizer: loaded.tokenizer, args: args,
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

/// The engine the serving commands drive: one, or `--data-parallel-size` replicas.
public func makeEngineClient(model: String?, args: EngineArgs) throws -> any EngineClient {
    args.dataParallelSize > 1 ? try DataParallelLLM(model: model, args: args) : try AsyncLLM(model: model, args: args)
}
