import VLLMEngine
import VLLMModels

/// What rank 0 tells the worker ranks of a tensor-parallel group, in order, over one MPI tag.
/// A forward step carries only what changed since the last one (`ForwardDelta`).
enum WorkerMessage {
    /// `offloadSlots`: the KV offloading tier's slots (0: none), each this rank's part of a block.
    case initializeKVCache(layout: KVCacheLayout, numBlocks: Int, blockSize: Int, dtype: KVCacheDType, offloadSlots: Int)
    case copyBlocks([(src: Int, dst: Int)])
    /// Copy offloading-tier slots into pool blocks (before the step's forward) or pool blocks
    /// into slots (after it).
    case loadBlocks([(block: Int, slot: Int)])
    case storeBlocks([(block: Int, slot: Int)])
    case forward(ForwardDelta)
    /// Sleep mode: drop the KV cache's pages.
    case releaseKVCache
    /// Read the LoRA adapter at `path` (rank 0 has checked it) and keep this rank's part as `id`.
    case addLoRA(id: Int, path: String, maxRank: Int)
    case removeLoRA(id: Int)
    /// For the rank that samples (a pipeline's last stage): its copy of the sampling state.
    case sampling(SamplingMessage)
    case shutdown
}

/// What rank 0's runner tells the last pipeline stage's sampler (`RequestSampler`), in order
/// with the steps.
enum SamplingMessage: Codable, Equatable {
    /// `params` with the seed rank 0 drew; the bad words' token ids travel beside them (their
    /// JSON form leaves them out).
    case addRequest(id: String, params: SamplingParams, badWordsTokenIDs: [[Int]], promptTokenIDs: [Int], eosTokenID: Int?)
    case removeRequests([String])
    /// The rows of the next forward step.
    case step(SamplingStep)
}

/// One forward step as the worker ranks need it: per sequence, the tokens to run, where they
/// start, which logits rows the step computes, and the blocks its tables gained since the
/// sequence's last step. A sequence is named by a number given when it first appears; one that
/// no step of the last `pipelineDepth` (the stages; 1 without a pipeline) ran is forgotten on
/// both sides (it is sent whole when it returns).
struct ForwardDelta {
    enum Tables {
        /// Blocks appended to each table since the sequence's last step.
        case append([[Int32]])
        /// The whole tables (a new sequence, or one whose tables changed otherwise).
        case replace([[Int32]])
    }

    struct Entry {
        var sequence: Int64
        var tokens: [Int32]
        var firstPosition: Int
        var needsLogits: Bool
        var needsAllLogits: Bool
        var tables: Tables
        /// A prompt given as embeddings, sent with the sequence's first appearance.
        var promptEmbeddings: PromptEmbeddings?
        /// The LoRA adapter (`addLoRA`'s id) the sequence runs with.
        var lora: Int? = nil
    }

    var entries: [Entry] = []
}

extension WorkerMessage {
    private enum Kind: UInt8 { case initializeKVCache = 1, copyBlocks, forward, releaseKVCache, addLoRA, removeLoRA, shutdown, loadBlocks, storeBlocks, sampling }

    var encoded: [UInt8] {
        var w = ByteWriter()
        switch self {
        case let .initializeKVCache(layout, numBlocks, blockSize, dtype, offloadSlots):
            w.byte(Kind.initializeKVCache.rawValue)
            w.int(numBlocks); w.int(blockSize); w.byte(dtype == .float16 ? 0 : 1); w.int(offloadSlots)
            w.int(layout.groups.count)
            for (group, window) in zip(layout.groups, layout.windows) { w.ints(group); w.int(window ?? -1) }
        case let .copyBlocks(copies):
            w.byte(Kind.copyBlocks.rawValue)
            w.ints(copies.flatMap { [$0.src, $0.dst] })
        case let .loadBlocks(transfers):
            w.byte(Kind.loadBlocks.rawValue)
            w.ints(transfers.flatMap { [$0.block, $0.slot] })
        case let .storeBlocks(transfers):
            w.byte(Kind.storeBlocks.rawValue)
            w.ints(transfers.flatMap { [$0.block, $0.slot] })
        case let .forward(delta):
            w.byte(Kind.forward.rawValue)
            w.int(delta.entries.count)
            for e in delta.entries {
                w.int(Int(e.sequence)); w.int32s(e.tokens); w.int(e.firstPosition)
                w.byte((e.needsLogits ? 1 : 0) | (e.needsAllLogits ? 2 : 0) | (e.promptEmbeddings != nil ? 4 : 0))
                switch e.tables {
                case let .append(t): w.byte(0); w.int(t.count); t.forEach { w.int32s($0) }
                case let .replace(t): w.byte(1); w.int(t.count); t.forEach { w.int32s($0) }
                }
                if let p = e.promptEmbeddings { w.int(p.rows); w.int(p.hiddenSize); w.floats(p.values) }
                w.int(e.lora ?? -1)
            }
        case .releaseKVCache: w.byte(Kind.releaseKVCache.rawValue)
        case let .addLoRA(id, path, maxRank):
            w.byte(Kind.addLoRA.rawValue); w.int(id); w.int(maxRank); w.string(path)
        case let .removeLoRA(id): w.byte(Kind.removeLoRA.rawValue); w.int(id)
        case let .sampling(message):
            w.byte(Kind.sampling.rawValue)
            w.string(String(decoding: WireJSON.encode(message), as: UTF8.self))
        case .shutdown: w.byte(Kind.shutdown.rawValue)
        }
        return w.bytes
    }

    /// The message `bytes` encode (they come from rank 0 of the same build: a malformed one is
    /// a bug, not input).
    init(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes)
        switch Kind(rawValue: r.byte()) {
        case .initializeKVCache:
            let numBlocks = r.int(), blockSize = r.int(), dtype: KVCacheDType = r.byte() == 0 ? .float16 : .float32, slots = r.int()
            var groups: [[Int]] = [], windows: [Int?] = []
            for _ in 0..<r.int() {
                groups.append(r.ints())
                let w = r.int()
                windows.append(w < 0 ? nil : w)
            }
            self = .initializeKVCache(layout: KVCacheLayout(groups: groups, windows: windows), numBlocks: numBlocks,
                                      blockSize: blockSize, dtype: dtype, offloadSlots: slots)
        case .copyBlocks:
            let flat = r.ints()
            self = .copyBlocks(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) })
        case .loadBlocks:
            let flat = r.ints()
            self = .loadBlocks(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) })
        case .storeBlocks:
            let flat = r.ints()
            self = .storeBlocks(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) })
        case .forward:
            var delta = ForwardDelta()
            for _ in 0..<r.int() {
                let sequence = Int64(r.int()), tokens = r.int32s(), first = r.int(), flags = r.byte()
                let replace = r.byte() == 1
                let tables = (0..<r.int()).map { _ in r.int32s() }
                var embeddings: PromptEmbeddings?
                if flags & 4 != 0 {
                    let rows = r.int(), hidden = r.int()
                    embeddings = PromptEmbeddings(rows: rows, hiddenSize: hidden, values: r.floats())
                }
                let lora = r.int()
                delta.entries.append(.init(sequence: sequence, tokens: tokens, firstPosition: first, needsLogits: flags & 1 != 0,
                                           needsAllLogits: flags & 2 != 0, tables: replace ? .replace(tables) : .append(tables),
                                           promptEmbeddings: embeddings, lora: lora < 0 ? nil : lora))
            }
            self = .forward(delta)
        case .releaseKVCache: self = .releaseKVCache
        case .addLoRA:
            let id = r.int(), maxRank = r.int()
            self = .addLoRA(id: id, path: r.string(), maxRank: maxRank)
        case .removeLoRA: self = .removeLoRA(id: r.int())
        case .sampling:
            self = .sampling(WireJSON.decode(SamplingMessage.self, from: Array(r.string().utf8)))
        case .shutdown: self = .shutdown
        case nil: preconditionFailure("unknown worker message")
        }
    }
}

/// Little-endian fixed-width fields, as the ranks of one build read them back.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func int(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
    mutating func ints(_ v: [Int]) { int(v.count); v.forEach { int($0) } }
    mutating func int32s(_ v: [Int32]) {
        int(v.count)
        for x in v { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
    }
    mutating func string(_ s: String) { int(s.utf8.count); bytes += s.utf8 }
    mutating func floats(_ v: [Float]) {
        int(v.count)
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
    }
}

struct ByteReader {
    private let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) -> T {
        precondition(at + MemoryLayout<T>.size <= bytes.count, "worker message cut short")
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[at ..< at + MemoryLayout<T>.size]) }
        at += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func byte() -> UInt8 { fixed(UInt8.self) }
    mutating func int() -> Int { Int(fixed(Int64.self)) }
    mutating func ints() -> [Int] { (0..<int()).map { _ in int() } }
    mutating func int32s() -> [Int32] { (0..<int()).map { _ in fixed(Int32.self) } }
    mutating func floats() -> [Float] { (0..<int()).map { _ in Float(bitPattern: fixed(UInt32.self)) } }
    mutating func string() -> String { String(decoding: (0..<int()).map { _ in byte() }, as: UTF8.self) }
}
