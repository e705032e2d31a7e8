import Foundation

/// A model loaded for generation: weights, tokenizer, generation defaults and the thread pool
/// they share. The model is a GGUF file or a Hugging Face checkpoint directory.
public struct LoadedModel: Sendable {
    /// The file or directory the weights came from.
    public let path: String
    public let model: DecoderModel
    public let tokenizer: Tokenizer
    /// The model's generation_config.json as `--generation-config` asks (nil: none or "vllm").
    public let generationConfig: GenerationConfig?

    /// Loads `path` (or the default model) with `threads` compute threads.
    public init(path: String?, threads: Int? = nil, maxBatchTokens: Int = 256,
                activationPrecision: ActivationPrecision = .float32, dtype: ModelDType = .auto,
                tokenizer tokenizerPath: String? = nil, generationConfig: String = "auto",
                revision: String? = nil) throws {
        let path = try path.map { try ModelLocator().locate($0, revision: revision).path } ?? DefaultModel.resolve()
        self.path = path
        let pool = ThreadPool(threadCount: threads ?? ThreadPool.availableCores)
        // The architecture check comes first: its error says more than a tokenizer complaint.
        if Self.isDirectory(path) {
            model = try DecoderModel(directory: path, pool: pool, maxBatchTokens: maxBatchTokens,
                                     activationPrecision: activationPrecision, dtype: dtype)
        } else {
            model = try DecoderModel(gguf: GGUFFile(path: path), pool: pool, maxBatchTokens: maxBatchTokens,
                                     activationPrecision: activationPrecision, dtype: dtype)
        }
        tokenizer = try Self.loadTokenizer(tokenizerPath ?? path)
        switch generationConfig {
        case "vllm": self.generationConfig = nil
        case "auto": self.generationConfig = Self.isDirectory(path) ? try GenerationConfig(directory: path) : nil
        default:
            guard let g = try GenerationConfig(directory: generationConfig) else {
                throw TokenizerLoadError(path: generationConfig, reason: "--generation-config: no generation_config.json in this directory")
            }
            self.generationConfig = g
        }
    }

    /// Loads `path` (or the default model) as the engine settings `args` ask.
    public init(path: String?, args: EngineArgs) throws {
        try self.init(path: path, threads: args.threads, maxBatchTokens: args.forwardChunkTokens,
                      activationPrecision: args.activationDtype, dtype: args.dtype, tokenizer: args.tokenizer,
                      generationConfig: args.generationConfig, revision: args.revision)
    }

    /// The tokenizer of a checkpoint directory (tokenizer.json), a GGUF file (its metadata) or
    /// a hub repo id in the cache.
    public static func loadTokenizer(_ model: String) throws -> Tokenizer {
        let path = try ModelLocator().locate(model).path
        do {
            return isDirectory(path) ? try Tokenizer(directory: path) : try Tokenizer(gguf: GGUFFile(path: path))
        } catch let e as TokenizerError {
            throw TokenizerLoadError(path: path, reason: e.description)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }
}
