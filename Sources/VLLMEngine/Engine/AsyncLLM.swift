import Foundation
import VLLMModels

/// Why a stream from `AsyncLLM` ended without finishing its request.
public enum AsyncLLMError: Error, Equatable, Codable, CustomStringConvertible {
    /// The engine was shut down while the request ran.
    case shutDown
    /// Sleep mode: the engine takes no requests until woken (`/wake_up`).
    case asleep
    /// The engine core refused the request after it passed input checks.
    case rejected(String)
    /// `maxWaitingRequests` requests are already waiting; the same request may succeed later.
    case saturated(waiting: Int)

    public var description: String {
        switch self {
        case .shutDown: "the engine has shut down"
        case .asleep: "the engine is sleeping (POST /wake_up wakes it)"
        case let .rejected(m): m
        case let .saturated(w): "the server is saturated: \(w) requests are waiting for the engine (--max-waiting-requests); retry later"
        }
    }
}

/// The streaming engine (vLLM's `AsyncLLM`): one background thread owns the `LLMEngine` and
/// steps it while requests are in flight; callers get an `AsyncThrowingStream` of cumulative
/// `RequestOutput`s per request, the last one `finished`.
///
/// Inputs are tokenized and validated on the caller's thread, so a bad request throws at once
/// and never reaches the engine. A consumer that stops listening (task cancelled, stream
/// dropped) aborts its request, which frees its KV blocks at the next step boundary.
///
/// ```swift
/// let engine = try AsyncLLM(engine: llmEngine)
/// for try await output in try engine.generate(.text("Hello"), SamplingParams(maxTokens: 8), requestID: "a") {
///     print(output.outputs[0].text)
/// }
/// ```
public final class AsyncLLM: @unchecked Sendable {
    public let engine: LLMEngine

    private typealias Stream = AsyncThrowingStream<RequestOutput, Error>

    private enum Command {
        case add(EngineCoreRequest)
        case abort(id: String, serial: Int)
        case loadLoRA(LoRARequest, LoRAAdapter, @Sendable (Result<LoRAAdapterInfo, LoRALoadError>) -> Void)
        case unloadLoRA(String, @Sendable (Result<Void, LoRALoadError>) -> Void)
        case sleep(level: Int, @Sendable (Result<Void, AsyncLLMError>) -> Void)
    }

    /// The parts a sleeping engine has put to sleep (vLLM's wake-up tags).
    public enum SleepTag: String, CaseIterable, Sendable, Codable {
        case weights
        case kvCache = "kv_cache"
    }

    private struct Listener {
        let serial: Int
        let continuation: Stream.Continuation
    }

    /// Guards everything below; the loop thread waits on it when there is nothing to do.
    private let condition = NSCondition()
    private var inbox: [Command] = []
    private var listeners: [String: Listener] = [:]
    private var nextSerial = 0
    private var stopping = false
    private var running = true
    private var latestStats: SchedulerStats
    private var latestLoRAs: [LoRAAdapterInfo]
    private var waitingCap: Int?
    private var stepObserver: (@Sendable (_ iterationTokens: Int) -> Void)?
    private var asleep: Set<SleepTag> = []

    /// Called on the engine thread after each step that produced tokens, with its token count
    /// as vLLM's `vllm:iteration_tokens` counts them (`EngineCore.lastStepIterationTokens`).
    public var onStep: (@Sendable (_ iterationTokens: Int) -> Void)? {
        get { condition.withLock { stepObserver } }
        set { condition.withLock { stepObserver = newValue } }
    }

    /// New requests are refused with `AsyncLLMError.saturated` while this many submitted ones
    /// are not running yet (nil: no limit).
    public var maxWaitingRequests: Int? {
        get { condition.withLock { waitingCap } }
        set { condition.withLock { waitingCap = newValue } }
    }

    /// Starts the engine loop thread; `engine` must not be driven by anyone else afterwards.
    public init(engine: LLMEngine) {
        self.engine = engine
        latestStats = engine.stats
        latestLoRAs = engine.loraAdapters
        let thread = Thread { [self] in loop() }
        thread.name = "vllm-engine-core"
        thread.start()
    }

    /// Submits a request and returns the stream of its outputs. Throws `InvalidRequest` when
    /// the request is refused (including an id that is still in flight).
    public func generate(_ prompt: PromptInput, _ params: SamplingParams, requestID: String,
                         priority: Int = 0, lora: LoRARequest? = nil) throws -> AsyncThrowingStream<RequestOutput, Error> {
        let request = try engine.processInputs(id: requestID, prompt: prompt, params: params, priority: priority, lora: lora)
        let (stream, continuation) = Stream.makeStream()
        condition.lock()
        defer { condition.unlock() }
        try Self.admit(requestID, stopping: stopping, asleep: !asleep.isEmpty, inFlight: listeners.keys.contains(requestID),
                       waiting: listeners.count - latestStats.numRunning, cap: waitingCap)
        let serial = nextSerial
        nextSerial += 1
        listeners[requestID] = Listener(serial: serial, continuation: continuation)
        inbox.append(.add(request))
        condition.signal()
        // Only a consumer going away aborts: a stream we finish ourselves ends `.finished`.
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.abort(requestID: requestID, serial: serial) }
        }
        return stream
    }

    /// Throws why a new request is refused at once, if it is (an engine shutting down or asleep,
    /// its id in flight, `cap` requests waiting); shared with replicas in other processes.
    public static func admit(_ id: String, stopping: Bool, asleep: Bool, inFlight: Bool, waiting: Int, cap: Int?) throws {
        guard !stopping else { throw AsyncLLMError.shutDown }
        guard !asleep else { throw AsyncLLMError.asleep }
        guard !inFlight else { throw InvalidRequest.duplicateID(id) }
        if let cap, waiting >= cap { throw AsyncLLMError.saturated(waiting: waiting) }
    }

    /// Aborts a request in flight; its stream ends after the last output already produced.
    public func abort(requestID: String) {
        condition.lock()
        defer { condition.unlock() }
        guard let l = listeners.removeValue(forKey: requestID) else { return }
        l.continuation.finish()
        inbox.append(.abort(id: requestID, serial: l.serial))
        condition.signal()
    }

    /// Loads a LoRA adapter while requests run (the server's `/v1/load_lora_adapter`): the files
    /// are read on a dispatch thread, then the engine loop registers the adapter between
    /// steps, so requests in flight are never disturbed. Throws `LoRALoadError`.
    public func loadLoRAAdapter(_ request: LoRARequest) async throws -> LoRAAdapterInfo {
        try await registerLoRAAdapter(request, readLoRAAdapter(request))
    }

    /// Reads and checks an adapter's files for this engine's model. Reading and converting them
    /// takes a while: a dispatch thread does it, so neither the engine loop nor one of Swift's
    /// few cooperative threads (the server's) waits on it. Throws `LoRALoadError`.
    public func readLoRAAdapter(_ request: LoRARequest) async throws -> LoRAAdapter {
        try await Self.readLoRAAdapter(request, engine: engine)
    }

    /// `readLoRAAdapter` for `engine`'s model.
    static func readLoRAAdapter(_ request: LoRARequest, engine: LLMEngine) async throws -> LoRAAdapter {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<LoRAAdapter, Error>) in
            DispatchQueue.global(qos: .userInitiated).async {
                c.resume(with: Result { () throws(LoRALoadError) in try engine.readLoRAAdapter(request) }.mapError { $0 as Error })
            }
        }
    }

    /// Registers an adapter `readLoRAAdapter` read, between steps. Throws `LoRALoadError`.
    public func registerLoRAAdapter(_ request: LoRARequest, _ adapter: LoRAAdapter) async throws -> LoRAAdapterInfo {
        try await withCheckedThrowingContinuation { c in
            send(.loadLoRA(request, adapter, { c.resume(with: $0.mapError { $0 as Error }) }))
        }
    }

    /// Unloads an adapter no unfinished request uses (`/v1/unload_lora_adapter`); an adapter
    /// in use, or not loaded, throws `LoRALoadError`.
    public func unloadLoRAAdapter(name: String) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            send(.unloadLoRA(name, { c.resume(with: $0.mapError { $0 as Error }) }))
        }
    }

    /// vLLM's `/sleep`: once no request is in flight (else `AsyncLLMError.rejected`), the
    /// engine frees its KV cache memory and takes no requests until every part is woken.
    public func sleep(level: Int) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            send(.sleep(level: level, { c.resume(with: $0.mapError { $0 as Error }) }))
        }
    }

    /// vLLM's `/wake_up`: wakes the given parts (all when nil). Nothing needs restoring on a
    /// CPU: the weights stayed, and the KV cache's pages come back as steps write them.
    public func wakeUp(_ tags: [SleepTag]? = nil) {
        condition.withLock { asleep.subtract(tags ?? SleepTag.allCases) }
    }

    /// vLLM's `/is_sleeping`: whether any part is still asleep.
    public var isSleeping: Bool { condition.withLock { !asleep.isEmpty } }

    /// The loaded adapters as of the last step or adapter change (`/v1/models`).
    public var loraAdapters: [LoRAAdapterInfo] {
        condition.lock()
        defer { condition.unlock() }
        return latestLoRAs
    }

    private func send(_ command: Command) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else {
            switch command {
            case let .loadLoRA(_, _, reply): reply(.failure(.badRequest(AsyncLLMError.shutDown.description)))
            case let .unloadLoRA(_, reply): reply(.failure(.badRequest(AsyncLLMError.shutDown.description)))
            case let .sleep(_, reply): reply(.failure(.shutDown))
            default: break
            }
            return
        }
        inbox.append(command)
        condition.signal()
    }

    /// Scheduler counters as of the last step.
    public var stats: SchedulerStats {
        condition.lock()
        defer { condition.unlock() }
        return latestStats
    }

    /// Requests submitted and not yet finished or aborted (counted at once, unlike `stats`).
    public var requestsInFlight: Int { condition.withLock { listeners.count } }

    /// Whether request `id` was submitted and has not finished or been aborted.
    public func isInFlight(_ id: String) -> Bool { condition.withLock { listeners[id] != nil } }

    /// False once `shutdown` has begun: the engine takes no more requests.
    public var isRunning: Bool { condition.withLock { !stopping } }

    /// Stops the loop after its current step and waits for it; open streams end with
    /// `AsyncLLMError.shutDown`.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        while running { condition.wait() }
        condition.unlock()
    }

    private func abort(requestID: String, serial: Int) {
        condition.lock()
        defer { condition.unlock() }
        guard listeners[requestID]?.serial == serial else { return }
        listeners[requestID] = nil
        inbox.append(.abort(id: requestID, serial: serial))
        condition.signal()
    }

    private func loop() {
        while true {
            condition.lock()
            while inbox.isEmpty && !stopping && !engine.hasUnfinishedRequests { condition.wait() }
            if stopping {
                let open = listeners.values
                let pending = inbox
                listeners = [:]
                inbox = []
                condition.unlock()
                for l in open { l.continuation.finish(throwing: AsyncLLMError.shutDown) }
                // Before `shutdown` returns (the process may exit right after).
                engine.persistKVOffloading()
                condition.withLock {
                    running = false
                    condition.broadcast()
                }
                // Adapter calls waiting for an answer must get one.
                let gone = LoRALoadError.badRequest(AsyncLLMError.shutDown.description)
                for command in pending {
                    if case let .loadLoRA(_, _, reply) = command { reply(.failure(gone)) }
                    if case let .unloadLoRA(_, reply) = command { reply(.failure(gone)) }
                    if case let .sleep(_, reply) = command { reply(.failure(.shutDown)) }
                }
                return
            }
            let commands = inbox
            inbox = []
            let observer = stepObserver
            condition.unlock()

            for command in commands { apply(command) }
            let stepped = engine.hasUnfinishedRequests
            let outputs = stepped ? engine.step() : []
            if stepped, let observer, engine.engineCore.lastStepIterationTokens > 0 { observer(engine.engineCore.lastStepIterationTokens) }
            deliver(outputs)
        }
    }

    private func apply(_ command: Command) {
        switch command {
        case let .add(request):
            do { try engine.add(request) } catch {
                let l = condition.withLock { listeners.removeValue(forKey: request.requestID) }
                l?.continuation.finish(throwing: AsyncLLMError.rejected(error.description))
            }
        case let .abort(id, _):
            engine.abortRequest(id: id)
        case let .loadLoRA(request, adapter, reply):
            let result = Result { () throws(LoRALoadError) in try engine.registerLoRAAdapter(request, adapter) }
            updateLoRAs()
            reply(result)
        case let .unloadLoRA(name, reply):
            let result = Result { () throws(LoRALoadError) in try engine.unloadLoRAAdapter(name: name) }
            updateLoRAs()
            reply(result)
        case let .sleep(level, reply):
            // Checked and set at once, so no request slips in between.
            let inFlight = condition.withLock {
                if listeners.isEmpty { asleep = Set(SleepTag.allCases) }
                return listeners.count
            }
            guard inFlight == 0 else {
                reply(.failure(.rejected("cannot sleep while \(inFlight) requests are in flight")))
                return
            }
            engine.sleep(level: level)
            reply(.success(()))
        }
    }

    /// Refreshes what callers read before replying, so a scrape right after a load or unload
    /// already shows the adapter's KV blocks taken or returned.
    private func updateLoRAs() {
        let list = engine.loraAdapters
        let stats = engine.stats
        condition.withLock {
            latestLoRAs = list
            latestStats = stats
        }
    }

    private func deliver(_ outputs: [RequestOutput]) {
        let loras = engine.lora == nil ? [] : engine.loraAdapters
        condition.lock()
        latestStats = engine.stats
        latestLoRAs = loras
        var targets: [(Stream.Continuation, RequestOutput)] = []
        for out in outputs {
            guard let l = listeners[out.requestID] else { continue }
            if out.finished { listeners[out.requestID] = nil }
            targets.append((l.continuation, out))
        }
        condition.unlock()
        for (c, out) in targets {
            c.yield(out)
            if out.finished { c.finish() }
        }
    }
}
