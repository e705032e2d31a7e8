import Foundation
import Synchronization

/// Data parallelism (vLLM's `--data-parallel-size`): replicas of the engine, each with its own
/// scheduler and KV cache, behind one front that sends each request to one of them (vLLM's
/// data-parallel load-balancing client). On one host the replicas are `AsyncLLM`s in this process
/// with their own threads over weights they share; as MPI processes (replicas that are parallel
/// themselves, or on other hosts) all but the first are reached through proxies. The router prefers the replica whose prefix cache most likely holds
/// the request's prompt (the replica it last sent the same leading blocks to), among those whose
/// load is within `balanceSlack` requests of the least loaded one; then the least loaded, the
/// one with the least KV cache in use, and the lowest index.
public final class DataParallelLLM: EngineClient, @unchecked Sendable {
    public let replicas: [any EngineReplica]
    /// The first replica's engine (this process's): every replica runs the same model and settings.
    public let engine: LLMEngine
    /// How many more requests in flight than the least loaded replica a replica may have and
    /// still be chosen for its prefix cache.
    let balanceSlack: Int
    private let blockSize: Int
    /// Per replica: the chained hashes of the prompt blocks sent to it, with when (a counter),
    /// bounded by what its KV cache can hold.
    private let routed: Mutex<(prefixes: [[Int: Int]], clock: Int)>
    private let capacity: Int

    public convenience init(replicas: [AsyncLLM]) {
        precondition(!replicas.isEmpty)
        self.init(engine: replicas[0].engine, replicas: replicas)
    }

    /// `replicas` of `engine`'s model and settings (`engine` itself drives one of them).
    public init(engine: LLMEngine, replicas: [any EngineReplica]) {
        precondition(!replicas.isEmpty)
        self.engine = engine
        self.replicas = replicas
        let args = engine.args
        blockSize = args.blockSize
        balanceSlack = max(1, args.maxNumSeqs / 4)
        capacity = max(1, engine.numKVBlocks)
        routed = Mutex((Array(repeating: [:], count: replicas.count), 0))
    }

    public func submit(_ prompt: PromptInput, _ params: SamplingParams, requestID: String, priority: Int,
                       lora: LoRARequest?) throws -> (replica: Int, outputs: AsyncThrowingStream<RequestOutput, Error>) {
        let hashes: [Int]
        if case let .tokenIDs(ids) = prompt { hashes = Self.blockHashes(ids, blockSize: blockSize, salt: lora?.loraName) } else { hashes = [] }
        guard !replicas.contains(where: { $0.isInFlight(requestID) }) else { throw InvalidRequest.duplicateID(requestID) }
        let replica = choose(hashes)
        let outputs = try replicas[replica].generate(prompt, params, requestID: requestID, priority: priority, lora: lora)
        remember(hashes, on: replica)
        return (replica, outputs)
    }

    /// The replica for a prompt whose full blocks hash to `hashes`.
    func choose(_ hashes: [Int]) -> Int {
        let matched = routed.withLock { state in
            state.prefixes.map { known in hashes.prefix { known[$0] != nil }.count }
        }
        return Self.choose(loads: replicas.map(\.requestsInFlight), kvUsage: replicas.map { $0.stats.kvUsage },
                           matchedBlocks: matched, slack: balanceSlack)
    }

    /// Among the replicas with at most `slack` more requests in flight than the least loaded,
    /// the one with the most matched prefix blocks; ties go to fewer requests, then less KV
    /// cache in use, then the lower index.
    static func choose(loads: [Int], kvUsage: [Double], matchedBlocks: [Int], slack: Int) -> Int {
        let limit = loads.min()! + slack
        return loads.indices.filter { loads[$0] <= limit }.min { a, b in
            (-matchedBlocks[a], loads[a], kvUsage[a], a) < (-matchedBlocks[b], loads[b], kvUsage[b], b)
        }!
    }

    private func remember(_ hashes: [Int], on replica: Int) {
        guard !hashes.isEmpty else { return }
        routed.withLock { state in
            state.clock += 1
            for h in hashes { state.prefixes[replica][h] = state.clock }
            // Past twice the cache's blocks, forget the older half (the cache has evicted them too).
            if state.prefixes[replica].count > 2 * capacity {
                let cut = state.prefixes[replica].values.sorted()[state.prefixes[replica].count / 2]
                state.prefixes[replica] = state.prefixes[replica].filter { $0.value >= cut }
            }
        }
    }

    /// Chained hashes of the prompt's full blocks (each covers the blocks before it, as the
    /// prefix cache's block hashes do); `salt` keeps different adapters' prefixes apart.
    static func blockHashes(_ tokens: [Int], blockSize: Int, salt: String?) -> [Int] {
        var out: [Int] = []
        var previous = salt.map { $0.hashValue } ?? 0
        for start in stride(from: 0, to: tokens.count - tokens.count % blockSize, by: blockSize) {
            var h = Hasher()
            h.combine(previous)
            for t in tokens[start ..< start + blockSize] { h.combine(t) }
            previous = h.finalize()
            out.append(previous)
        }
        return out
    }

    /// Aborting is sent to every replica; the one that does not hold the request ignores it.
    public func abort(requestID: String) { replicas.forEach { $0.abort(requestID: requestID) } }

    /// Loads the adapter on every replica, or on none (a failure unloads it where it loaded).
    /// This process reads the files once; its replicas share the converted weights.
    public func loadLoRAAdapter(_ request: LoRARequest) async throws -> LoRAAdapterInfo {
        let adapter = try await AsyncLLM.readLoRAAdapter(request, engine: engine)
        var infos: [LoRAAdapterInfo] = []
        for r in replicas {
            do { infos.append(try await r.registerLoRAAdapter(request, adapter)) } catch {
                for loaded in replicas.prefix(infos.count) { try? await loaded.unloadLoRAAdapter(name: request.loraName) }
                throw error
            }
        }
        return infos[0]
    }

    /// Unloads the adapter from every replica; refused everywhere when a request uses it on any.
    public func unloadLoRAAdapter(name: String) async throws {
        let users = replicas.reduce(0) { sum, r in sum + (r.loraAdapters.first { $0.name == name }?.activeRequests ?? 0) }
        if users > 0 { throw LoRALoadError.inUse(name: name, requests: users) }
        for r in replicas { try await r.unloadLoRAAdapter(name: name) }
    }

    /// Every replica sleeps, or none (a refusal wakes those that slept).
    public func sleep(level: Int) async throws {
        do { for r in replicas { try await r.sleep(level: level) } } catch {
            replicas.forEach { $0.wakeUp(nil) }
            throw error
        }
    }

    public func wakeUp(_ tags: [AsyncLLM.SleepTag]?) { replicas.forEach { $0.wakeUp(tags) } }
    public var isSleeping: Bool { replicas.contains { $0.isSleeping } }

    /// The adapters (the same on every replica), with their requests counted over all.
    public var loraAdapters: [LoRAAdapterInfo] {
        let all = replicas.map(\.loraAdapters)
        return all[0].map { info in
            var info = info
            info.activeRequests = all.reduce(0) { sum, list in sum + (list.first { $0.name == info.name }?.activeRequests ?? 0) }
            return info
        }
    }

    public var replicaStats: [SchedulerStats] { replicas.map(\.stats) }
    public var requestsInFlight: Int { replicas.reduce(0) { $0 + $1.requestsInFlight } }

    public func observeSteps(_ observer: @escaping @Sendable (_ replica: Int, _ iterationTokens: Int) -> Void) {
        for (i, r) in replicas.enumerated() { r.onStep = { observer(i, $0) } }
    }

    public var maxWaitingRequests: Int? {
        get { replicas[0].maxWaitingRequests }
        set { replicas.forEach { $0.maxWaitingRequests = newValue } }
    }

    public var isRunning: Bool { replicas.allSatisfy(\.isRunning) }
    public func shutdown() { replicas.forEach { $0.shutdown() } }
}
