/// Asks for a LoRA adapter (vLLM's `LoRARequest`): `loraName` identifies it (the OpenAI
/// `model` field names it), `loraIntId` is a positive id unique among loaded adapters, and
/// `loraPath` is the PEFT adapter directory, loaded on first use when not loaded yet.
public struct LoRARequest: Sendable, Hashable, Codable {
    public let loraName: String
    public let loraIntId: Int
    public let loraPath: String
    /// The model the adapter was trained on (reported by the server's model list).
    public var baseModelName: String?

    public init(loraName: String, loraIntId: Int, loraPath: String, baseModelName: String? = nil) {
        self.loraName = loraName
        self.loraIntId = loraIntId
        self.loraPath = loraPath
        self.baseModelName = baseModelName
    }
}

/// A loaded adapter as the engine reports it (for `/v1/models` and logs).
public struct LoRAAdapterInfo: Sendable, Equatable, Codable {
    public let name: String
    public let intID: Int
    public let path: String
    public let rank: Int
    public let baseModelName: String?
    /// Bytes of its converted weights, and the KV blocks set aside for them.
    public let bytes: Int
    public let kvBlocks: Int
    /// Unfinished requests using it (an adapter in use cannot be unloaded).
    public var activeRequests: Int
}

/// Why a LoRA operation was refused. Messages follow vLLM's where it has one.
public enum LoRALoadError: Error, Equatable, Codable, CustomStringConvertible {
    case notEnabled
    case badRequest(String)
    /// Nothing exists at the adapter's path (the server answers 404, as vLLM does).
    case adapterMissing(String)
    /// The adapter files could not be used (not an adapter, unreadable, rank, targets, shapes).
    case adapter(String)
    case duplicateName(String)
    case notLoaded(String)
    case inUse(name: String, requests: Int)
    case noMemory(name: String, blocks: Int, free: Int)
    case full(maxCPULoras: Int)

    public var description: String {
        switch self {
        case .notEnabled: "LoRA is not enabled; start the engine with --enable-lora"
        case let .badRequest(m): m
        case let .adapterMissing(m): m
        case let .adapter(m): m
        case let .duplicateName(n): "The lora adapter '\(n)' has already been loaded."
        case let .notLoaded(n): "The lora adapter '\(n)' cannot be found."
        case let .inUse(n, k): "The lora adapter '\(n)' is in use by \(k) unfinished request(s) and cannot be unloaded now."
        case let .noMemory(n, b, f): "not enough free KV cache memory for lora adapter '\(n)': it needs \(b) blocks, \(f) are free"
        case let .full(m): "--max-cpu-loras (\(m)) adapters are loaded and all are in use; unload one or raise --max-cpu-loras"
        }
    }
}
