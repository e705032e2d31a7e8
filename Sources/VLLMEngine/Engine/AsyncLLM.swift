import Foundation

/// Why a stream from `AsyncLLM` ended without finishing its request.
public enum AsyncLLMError: Error, Equatable, CustomStringConvertible {
    /// The engine was shut down while the request ran.
    case shutDown
    /// The engine core refused the request after it passed input checks.
    case rejected(String)

    public var description: String {
        switch self {
        case .shutDown: "the engine has shut down"
        case let .rejected(m): m
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

    /// Starts the engine loop thread; `engine` must not be driven by anyone else afterwards.
    public init(engine: LLMEngine) {
        self.engine = engine
        latestStats = engine.stats
        let thread = Thread { [self] in loop() }
        thread.name = "vllm-engine-core"
        thread.start()
    }

    /// Submits a request and returns the stream of its outputs. Throws `InvalidRequest` when
    /// the request is refused (including an id that is still in flight).
    public func generate(_ prompt: PromptInput, _ params: SamplingParams, requestID: String,
                         priority: Int = 0) throws -> AsyncThrowingStream<RequestOutput, Error> {
        let request = try engine.processInputs(id: requestID, prompt: prompt, params: params, priority: priority)
        let (stream, continuation) = Stream.makeStream()
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw AsyncLLMError.shutDown }
        guard listeners[requestID] == nil else { throw InvalidRequest.duplicateID(requestID) }
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

    /// Aborts a request in flight; its stream ends after the last output already produced.
    public func abort(requestID: String) {
        condition.lock()
        defer { condition.unlock() }
        guard let l = listeners.removeValue(forKey: requestID) else { return }
        l.continuation.finish()
        inbox.append(.abort(id: requestID, serial: l.serial))
        condition.signal()
    }

    /// Scheduler counters as of the last step.
    public var stats: SchedulerStats {
        condition.lock()
        defer { condition.unlock() }
        return latestStats
    }

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
                listeners = [:]
                running = false
                condition.broadcast()
                condition.unlock()
                for l in open { l.continuation.finish(throwing: AsyncLLMError.shutDown) }
                return
            }
            let commands = inbox
            inbox = []
            condition.unlock()

            for command in commands { apply(command) }
            let outputs = engine.hasUnfinishedRequests ? engine.step() : []
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
        }
    }

    private func deliver(_ outputs: [RequestOutput]) {
        condition.lock()
        latestStats = engine.stats
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
