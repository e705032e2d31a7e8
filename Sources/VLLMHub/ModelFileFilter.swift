/// Which of a repo's files a download fetches. The default is what vLLM needs to serve a
/// safetensors model: configs, tokenizer, chat template and the weights, never other formats'
/// weights (.bin, .pt, .h5, .msgpack, .onnx, .gguf), READMEs or images.
public struct ModelFileFilter: Sendable, Equatable {
    /// Top-level files fetched by exact name.
    public var names: Set<String>
    /// Top-level weight files fetched by extension (without the dot).
    public var weightExtensions: Set<String>
    /// An index of weight shards (`weight_map`): when the repo has it, only the weight files it
    /// lists are fetched (repos often also carry a consolidated copy of the same weights).
    public var weightIndex: String?

    public init(names: Set<String>, weightExtensions: Set<String>, weightIndex: String?) {
        self.names = names
        self.weightExtensions = weightExtensions
        self.weightIndex = weightIndex
    }

    public static let modelDefault = ModelFileFilter(
        names: [
            "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "chat_template.jinja", "chat_template.json",
            "model.safetensors.index.json",
        ],
        weightExtensions: ["safetensors"],
        weightIndex: "model.safetensors.index.json")

    /// Nested paths are never selected: vLLM reads a model's files from its top folder only.
    public func isWeight(_ path: String) -> Bool {
        guard !path.contains("/"), let dot = path.lastIndex(of: ".") else { return false }
        return weightExtensions.contains(String(path[path.index(after: dot)...]))
    }

    public func isMetadata(_ path: String) -> Bool { !path.contains("/") && names.contains(path) }

    /// The files to fetch from a repo's list: metadata first and weights last, so that a
    /// snapshot holding its weights is known to hold everything else too. `shards` is the
    /// index's list when the repo has one.
    func select(from files: [String], shards: Set<String>?) -> (metadata: [String], weights: [String]) {
        let metadata = files.filter(isMetadata).sorted()
        let weights = files.filter { isWeight($0) && !isMetadata($0) && (shards?.contains($0) ?? true) }.sorted()
        return (metadata, weights)
    }
}
