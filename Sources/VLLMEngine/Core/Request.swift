import VLLMModels

/// Where a request stands in the scheduler (vLLM's `RequestStatus`).
public enum RequestStatus: Sendable, Equatable {
    case waiting
    case running
    /// Evicted from the running set to free KV blocks; waits to be recomputed.
    case preempted
    /// Hit EOS or a stop token (or, via abort, a stop string).
    case finishedStopped
    /// Reached `maxTokens` or the model's length limit.
    case finishedLength
    case finishedAborted

    public var isFinished: Bool {
        switch self {
        case .finishedStopped, .finishedLength, .finishedAborted: true
        case .waiting, .running, .preempted: false
        }
    }

    /// The OpenAI `finish_reason` for a finished status ("stop", "length", "abort").
    public var finishReason: String? {
        switch self {
        case .finishedStopped: "stop"
        case .finishedLength: "length"
        case .finishedAborted: "abort"
        case .waiting, .running, .preempted: nil
        }
    }
}

/// One sequence as the engine core tracks it (vLLM's `Request`): its tokens, how many of them
/// have KV in the cache, and its scheduling state. A request with `n > 1` is several of these.
public final class Request {
    public let requestID: String
    public let promptTokenIDs: [Int]
    public private(set) var outputTokenIDs: [Int] = []
    /// Prompt then output: the tokens whose KV the request needs, in order.
    public private(set) var allTokenIDs: [Int]
    public let samplingParams: SamplingParams
    /// Lower values are scheduled first under the priority policy (vLLM's convention).
    public let priority: Int
    /// The model's end-of-sequence token; nil when the model has none.
    public let eosTokenID: Int?
    /// Mixed into every block hash, so requests with different keys (LoRA adapters, cache
    /// salts) never share cached KV.
    public let blockHashExtraKey: String?
    /// The LoRA adapter this request runs with (the engine's per-load adapter id); nil: none.
    public let loraID: Int?
    /// The prompt as embeddings (`promptTokenIDs` are then placeholders of the same count).
    public let promptEmbeddings: PromptEmbeddings?

    /// Tokens whose KV is computed or scheduled to be computed in the step in flight: the
    /// scheduler advances it when it schedules, as vLLM does.
    public internal(set) var numComputedTokens = 0
    /// Tokens being sampled by scheduled steps whose results have not arrived: 0 or 1, and
    /// only between `Scheduler.schedule` and `update` (with async scheduling, 2 while the next
    /// step is scheduled before the previous one's token is known).
    public internal(set) var numOutputPlaceholders = 0
    /// Prompt tokens served by the prefix cache when the request was first scheduled.
    public internal(set) var numCachedTokens = 0
    /// Speculative decoding: tokens proposed to follow the request's known ones, verified by
    /// its next step (vLLM's `spec_token_ids`); not part of its tokens.
    public internal(set) var specTokenIDs: [Int] = []
    /// Position in arrival order, set by the scheduler when the request is added (FCFS key).
    public internal(set) var arrivalIndex = -1
    public internal(set) var status: RequestStatus = .waiting
    public internal(set) var numPreemptions = 0
    /// When it finishes, the scheduler keeps its blocks for `Scheduler.fork` until `release`
    /// (beam search forks a finished step's beams).
    var keepsBlocksWhenFinished = false
    /// Hashes of the request's full blocks, extended as tokens arrive; they depend only on
    /// the tokens, so they survive preemption (which is what makes resuming cheap).
    var blockHashes: [BlockHash] = []
    /// The block size `blockHashes` was computed for (a different one starts over).
    private var blockHashesBlockSize = 0

    public init(requestID: String, promptTokenIDs: [Int], samplingParams: SamplingParams = SamplingParams(),
                eosTokenID: Int? = nil, priority: Int = 0, blockHashExtraKey: String? = nil,
                loraID: Int? = nil, promptEmbeddings: PromptEmbeddings? = nil) {
        self.requestID = requestID
        self.promptTokenIDs = promptTokenIDs
        self.allTokenIDs = promptTokenIDs
        self.samplingParams = samplingParams
        self.eosTokenID = eosTokenID
        self.priority = priority
        self.loraID = loraID
        self.promptEmbeddings = promptEmbeddings
        // Two adapters, or two prompts of embeddings, compute different KV for the same tokens:
        // they must never share blocks.
        // Adapter ids are per process: the nonce keeps a persisted block of one run's adapter from
        // matching another run's adapter with the same id.
        let keys = [loraID.map { "lora:\($0)@\(Self.processNonce)" }, promptEmbeddings.map { "embeds:\(Self.digest($0))" }, blockHashExtraKey]
        self.blockHashExtraKey = keys.allSatisfy { $0 == nil } ? nil : keys.compactMap { $0 }.joined(separator: "|")
    }

    static let processNonce = UInt64.random(in: .min ... .max)

    /// A 128-bit digest of the embeddings' values and shape (prefix caching keys on it).
    static func digest(_ e: PromptEmbeddings) -> BlockHash {
        BlockHash(parent: nil, tokenIDs: [e.rows, e.hiddenSize] + e.values.map { Int($0.bitPattern) })
    }

    public var numTokens: Int { allTokenIDs.count }
    /// Known tokens plus the ones being sampled: what the next step continues from.
    public var numTokensWithPlaceholders: Int { allTokenIDs.count + numOutputPlaceholders }
    public var numPromptTokens: Int { promptTokenIDs.count }
    public var numOutputTokens: Int { outputTokenIDs.count }

    /// Appends a sampled token.
    public func appendOutputToken(_ tokenID: Int) {
        outputTokenIDs.append(tokenID)
        allTokenIDs.append(tokenID)
    }

    /// Extends `blockHashes` over every full block of known tokens and returns the first
    /// `count` of them (`count` must not exceed the number of full blocks).
    func fullBlockHashes(blockSize: Int, count: Int) -> ArraySlice<BlockHash> {
        let numFull = numTokens / blockSize
        precondition(count <= numFull, "asked for \(count) block hashes with \(numFull) full blocks")
        if blockHashesBlockSize != blockSize {
            blockHashes = []
            blockHashesBlockSize = blockSize
        }
        while blockHashes.count < count {
            let i = blockHashes.count
            blockHashes.append(BlockHash(parent: blockHashes.last,
                                         tokenIDs: allTokenIDs[i * blockSize ..< (i + 1) * blockSize],
                                         extraKey: blockHashExtraKey))
        }
        return blockHashes[..<count]
    }
}
