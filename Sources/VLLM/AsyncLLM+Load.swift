extension AsyncLLM {
    /// Loads `model` (a GGUF path; nil: the default model) with the engine settings `args` and
    /// starts the engine loop.
    public convenience init(model: String? = nil, args: EngineArgs = EngineArgs()) throws {
        let loaded = try LoadedModel(path: model, args: args)
        self.init(engine: try loaded.engine(args: args))
    }
}
