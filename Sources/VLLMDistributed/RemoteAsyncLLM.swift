import Foundation
import VLLMEngine
import VLLMModels

/// A data-parallel replica whose engine runs in other processes (`ReplicaServer` there), as the
/// API server's process sees it (vLLM's engine-core client for a remote DP rank). Requests are
/// checked here first, with this process's engine (`validator`), so a bad one is refused at
/// once as with a local replica; the replica's outputs come back as changes and are rebuilt
/// into the cumulative outputs `AsyncLLM` gives. One thread moves the messages.
public final class RemoteAsyncLLM: EngineReplica, @unchecked Sendable {
    private typealias Stream = AsyncThrowingStream<RequestOutput, Error>

    private struct Listener {
        let serial: Int
        let continuation: Stream.Continuation
        let arrival: ContinuousClock.Instant
        var last: RequestOutput?
    }

    private let link: any ReplicaLink
    private let validator: LLMEngine
    private let condition = NSCondition()
    private var outbox: [ReplicaCommand] = []
    private var listeners: [String: Listener] = [:]
    private var nextSerial = 0
    private var calls: [Int: @Sendable (ReplicaReply) -> Void] = [:]
    private var nextCall = 0
    private var latestStats = SchedulerStats()
    private var latestLoRAs: [LoRAAdapterInfo] = []
    private var asleep: Set<AsyncLLM.SleepTag> = []
    private var waitingCap: Int?
    private var stepObserver: (@Sendable (Int) -> Void)?
    private var stopping = false
    private var loopRunning = true

    /// `validator`: this process's engine of the same model and settings.
    public init(link: any ReplicaLink, validator: LLMEngine) {
        self.link = link
        self.validator = validator
        let thread = Thread { [self] in loop() }
        thread.name = "vllm-dp-link"
        thread.start()
    }

    public func generate(_ prompt: PromptInput, _ params: SamplingParams, requestID: String, priority: Int,
                         lora: LoRARequest?) throws -> AsyncThrowingStream<RequestOutput, Error> {
        _ = try validator.processInputs(id: requestID, prompt: prompt, params: params, priority: priority, lora: lora)
        let (stream, continuation) = Stream.makeStream()
        condition.lock()
        defer { condition.unlock() }
        try AsyncLLM.admit(requestID, stopping: stopping, asleep: !asleep.isEmpty, inFlight: listeners.keys.contains(requestID),
                           waiting: listeners.count - latestStats.numRunning, cap: waitingCap)
        let serial = nextSerial
        nextSerial += 1
        listeners[requestID] = Listener(serial: serial, continuation: continuation, arrival: .now)
        outbox.append(.add(requestID: requestID, serial: serial, prompt: prompt, params: params,
                           structuredOutputs: params.structuredOutputs, priority: priority, lora: lora))
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.abort(requestID: requestID, serial: serial) }
        }
        return stream
    }

    public func abort(requestID: String) {
        condition.withLock {
            guard let l = listeners.removeValue(forKey: requestID) else { return }
            l.continuation.finish()
            outbox.append(.abort(requestID: requestID))
        }
    }

    private func abort(requestID: String, serial: Int) {
        condition.withLock {
            guard listeners[requestID]?.serial == serial else { return }
            listeners[requestID] = nil
            outbox.append(.abort(requestID: requestID))
        }
    }

    public func isInFlight(_ id: String) -> Bool { condition.withLock { listeners[id] != nil } }
    public var requestsInFlight: Int { condition.withLock { listeners.count } }
    public var stats: SchedulerStats { condition.withLock { latestStats } }
    public var loraAdapters: [LoRAAdapterInfo] { condition.withLock { latestLoRAs } }
    public var isSleeping: Bool { condition.withLock { !asleep.isEmpty } }
    public var isRunning: Bool { condition.withLock { !stopping } }

    public var onStep: (@Sendable (Int) -> Void)? {
        get { condition.withLock { stepObserver } }
        set { condition.withLock { stepObserver = newValue } }
    }

    public var maxWaitingRequests: Int? {
        get { condition.withLock { waitingCap } }
        set { condition.withLock { waitingCap = newValue } }
    }

    /// The replica reads the adapter's files itself (they must be at the same path on its host).
    public func registerLoRAAdapter(_ request: LoRARequest, _ adapter: LoRAAdapter) async throws -> LoRAAdapterInfo {
        switch await call({ .loadLoRA(call: $0, request) }) {
        case let .loaded(info): return info
        case let .loraError(e): throw e
        case let .engineError(e): throw LoRALoadError.badRequest(e.description)
        case .done: throw LoRALoadError.badRequest("the replica did not load the adapter")
        }
    }

    public func unloadLoRAAdapter(name: String) async throws {
        switch await call({ .unloadLoRA(call: $0, name: name) }) {
        case .done, .loaded: return
        case let .loraError(e): throw e
        case let .engineError(e): throw LoRALoadError.badRequest(e.description)
        }
    }

    public func sleep(level: Int) async throws {
        switch await call({ .sleep(call: $0, level: level) }) {
        case .done, .loaded: condition.withLock { asleep = Set(AsyncLLM.SleepTag.allCases) }
        case let .engineError(e): throw e
        case let .loraError(e): throw AsyncLLMError.rejected(e.description)
        }
    }

    public func wakeUp(_ tags: [AsyncLLM.SleepTag]?) {
        condition.withLock {
            asleep.subtract(tags ?? AsyncLLM.SleepTag.allCases)
            outbox.append(.wakeUp(tags))
        }
    }

    /// Stops the replica (its processes end) and this link; open streams end with
    /// `AsyncLLMError.shutDown`.
    public func shutdown() {
        let done = DispatchSemaphore(value: 0)
        let sent: Bool = condition.withLock {
            guard !stopping, loopRunning else { return false }
            let id = nextCall
            nextCall += 1
            calls[id] = { _ in done.signal() }
            outbox.append(.shutdown(call: id))
            return true
        }
        // A replica that died has ended the MPI job already; do not wait for it forever.
        if sent { _ = done.wait(timeout: .now() + 120) }
        condition.lock()
        stopping = true
        let open = listeners.values
        listeners = [:]
        while loopRunning { condition.wait() }
        condition.unlock()
        for l in open { l.continuation.finish(throwing: AsyncLLMError.shutDown) }
    }

    private func call(_ command: (Int) -> ReplicaCommand) async -> ReplicaReply {
        await withCheckedContinuation { (c: CheckedContinuation<ReplicaReply, Never>) in
            condition.withLock {
                guard !stopping else { return c.resume(returning: .engineError(.shutDown)) }
                let id = nextCall
                nextCall += 1
                calls[id] = { c.resume(returning: $0) }
                outbox.append(command(id))
            }
        }
    }

    private func loop() {
        var backoff = PollBackoff(spins: 0)
        while true {
            let (commands, stop) = condition.withLock { () -> ([ReplicaCommand], Bool) in
                defer { outbox = [] }
                return (outbox, stopping)
            }
            if !commands.isEmpty { link.send(commands.encodedMessage) }
            if stop { break }
            var any = !commands.isEmpty
            while let message = link.receive() {
                any = true
                for event in [ReplicaEvent](message: message) { handle(event) }
            }
            if any { backoff.reset() } else { backoff.wait() }
        }
        link.flush()
        condition.withLock {
            loopRunning = false
            condition.broadcast()
        }
    }

    private func handle(_ event: ReplicaEvent) {
        switch event {
        case let .output(serial, delta):
            let delivery: (Stream.Continuation, RequestOutput)? = condition.withLock {
                guard var l = listeners[delta.requestID], l.serial == serial else { return nil }
                let out = delta.applied(to: l.last, arrival: l.arrival)
                l.last = out
                listeners[delta.requestID] = out.finished ? nil : l
                return (l.continuation, out)
            }
            if let (c, out) = delivery {
                c.yield(out)
                if out.finished { c.finish() }
            }
        case let .failed(id, serial, error):
            let l: Listener? = condition.withLock {
                guard listeners[id]?.serial == serial else { return nil }
                return listeners.removeValue(forKey: id)
            }
            l?.continuation.finish(throwing: error)
        case let .step(tokens, stats):
            let observer = condition.withLock {
                latestStats = stats
                return stepObserver
            }
            observer?(tokens)
        case let .state(stats, loras):
            condition.withLock {
                latestStats = stats
                latestLoRAs = loras
            }
        case let .reply(id, reply):
            condition.withLock { calls.removeValue(forKey: id) }?(reply)
        }
    }
}
