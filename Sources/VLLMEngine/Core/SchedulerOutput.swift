import VLLMStructuredOutput

/// One request's work in a step: compute the KV of `tokenIDs` at positions
/// `startPosition ..< startPosition + tokenIDs.count`, writing into the slots the block table
/// maps them to.
public struct ScheduledRequest: Sendable, Equatable {
    public let requestID: String
    /// A slice of the request's tokens, starting at its computed-token count.
    public let tokenIDs: [Int]
    /// Position of `tokenIDs[0]` in the sequence.
    public let startPosition: Int
    /// The request's whole block table of each KV cache group after this step's allocation;
    /// position p lives in block `blockTables[g][p / blockSize]`, slot `p % blockSize`.
    public let blockTables: [[Int]]
    /// The first group's table (the only one for most models).
    public var blockIDs: [Int] { blockTables[0] }
    /// The chunk ends at the request's last known token, so the step samples its next token
    /// (false for all but the last chunk of a chunked prefill).
    public let samplesAfterStep: Bool
    /// The request's LoRA adapter id (`Request.loraID`); nil: the base model.
    public var loraID: Int? = nil
    /// The request's `arrivalIndex`: tells it from a later request reusing its id.
    public var arrivalIndex = -1
    /// Speculative decoding: the last this many of `tokenIDs` are proposed tokens, not the
    /// request's own; the step verifies them and samples up to this many plus one tokens.
    public var numSpecTokens = 0

    public var numTokens: Int { tokenIDs.count }

    /// Stands in `tokenIDs` for the token sampled by the step in flight (async scheduling); the
    /// worker puts that token there.
    public static let placeholderTokenID = -1
}

/// Everything the model runner needs for one step (vLLM's `SchedulerOutput`).
public struct SchedulerOutput: Sendable, Equatable {
    /// Running requests first, in running order, then newly admitted ones.
    public var scheduled: [ScheduledRequest] = []
    /// Copy-on-write copies to perform, in order, before the step.
    public var blockCopies: [BlockCopy] = []
    /// KV offloading: tier slots to copy into blocks before the block copies and the step, and
    /// blocks to copy into the tier once the step has written them.
    public var offloadLoads: [BlockTransfer] = []
    public var offloadStores: [BlockTransfer] = []
    /// Requests preempted in this step: the worker drops their state; they come back later
    /// as new requests recomputing from position 0 (or a prefix-cache hit).
    public var preemptedRequestIDs: [String] = []
    /// Requests finished or aborted since the previous step, so the worker can drop state.
    public var finishedRequestIDs: [String] = []
    public var totalNumScheduledTokens = 0
    /// Allowed tokens of the constrained requests that sample after this step (vLLM's
    /// `grammar_bitmask`), filled by the engine core after scheduling.
    public var grammarBitmasks: [String: TokenBitmask] = [:]

    public init() {}

    public var isEmpty: Bool { scheduled.isEmpty }
}

/// What a step did to one request (the input of the output processor).
public struct RequestUpdate: Sendable, Equatable {
    public let requestID: String
    public let newTokenIDs: [Int]
    /// `.running` while the request goes on, else its finished status.
    public let status: RequestStatus

    public var isFinished: Bool { status.isFinished }
    public var finishReason: String? { status.finishReason }
}

/// Counters for logging and metrics.
public struct SchedulerStats: Sendable, Equatable, Codable {
    public var numRunning = 0
    public var numWaiting = 0
    /// Preemptions since the scheduler started.
    public var numPreemptions = 0
    /// Tokens looked up in the prefix cache, and tokens found.
    public var prefixCacheQueries = 0
    public var prefixCacheHits = 0
    /// Fraction of KV blocks held by requests.
    public var kvUsage = 0.0
    public var kvBlocksUsed = 0
    public var kvBlocksFree = 0
    public var peakKVBlocksUsed = 0
    /// Block-table entries over running requests and KV cache groups: the blocks they would
    /// hold if sliding windows dropped none (a shared block counts in each table); and its peak.
    public var kvTableEntries = 0
    public var peakKVTableEntries = 0
    /// Unused share of held KV slots, pooled over all steps so far: the sum over steps of
    /// (allocated - used) slots divided by the sum of allocated slots, measured right after
    /// each `schedule()`. A step holding more memory weighs more; steps holding none weigh
    /// nothing. 0 before anything was allocated.
    public var kvWaste = 0.0
    /// The same ratio for the last step only.
    public var lastStepKVWaste = 0.0
    /// LoRA adapter ids of the running and the waiting requests.
    public var runningLoRAIDs: Set<Int> = []
    public var waitingLoRAIDs: Set<Int> = []
    /// The KV offloading tier's counters; nil without one.
    public var offload: OffloadStats?
    /// Speculative decoding's counters (all zero without it).
    public var specDecoding = SpecDecodingStats()

    public init() {}
}

/// Speculative decoding's verifications since the start (vLLM's `SpecDecodingStats`).
public struct SpecDecodingStats: Sendable, Equatable, Codable {
    /// Steps in which a request verified proposed tokens, the tokens it verified, and those
    /// accepted.
    public var numDrafts = 0
    public var numDraftTokens = 0
    public var numAcceptedTokens = 0
    /// Accepted tokens by their position in the proposal.
    public var acceptedPerPosition: [Int] = []

    /// Accepted ÷ proposed tokens.
    public var acceptanceRate: Double { numDraftTokens == 0 ? 0 : Double(numAcceptedTokens) / Double(numDraftTokens) }
    /// Tokens a verifying step produced on average: its accepted proposals and one more.
    public var meanAcceptanceLength: Double { numDrafts == 0 ? 0 : 1 + Double(numAcceptedTokens) / Double(numDrafts) }
}

/// What the KV offloading tier has done since the start (blocks and prompt tokens).
public struct OffloadStats: Sendable, Equatable, Codable {
    public var blocksStored = 0
    public var blocksLoaded = 0
    /// Prompt tokens looked up in the tier (those the pool's prefix cache missed), and found.
    public var queries = 0
    public var hits = 0
    public var slotsUsed = 0
    public var slots = 0
}
