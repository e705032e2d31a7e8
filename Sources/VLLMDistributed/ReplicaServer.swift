import Foundation
import Synchronization
import VLLMCompute
import VLLMEngine

/// A data-parallel replica's engine serving the API server's process over a link (vLLM's
/// engine-core process of a DP rank): it runs the requests it is sent on its `AsyncLLM` and
/// sends back each output as the change since the last, and its counters after each step.
public final class ReplicaServer: @unchecked Sendable {
    private let llm: AsyncLLM
    private let link: any ReplicaLink
    private let outbox = Mutex<[ReplicaEvent]>([])
    /// Which replica this is (for the statistics logged when it stops).
    private let index: Int
    /// Requests received, and tokens and bytes sent back (the loop thread's).
    private var requests = 0, tokensSent = 0, bytesSent = 0

    public init(llm: AsyncLLM, link: any ReplicaLink, index: Int) {
        self.llm = llm
        self.link = link
        self.index = index
    }

    /// Serves until told to shut down; returns once the engine has stopped and the answer left.
    public func run() {
        // On the engine thread, after the step: its scheduler counters are current (`AsyncLLM.stats` are not yet).
        llm.onStep = { [self, engine = llm.engine] tokens in post(.step(iterationTokens: tokens, engine.stats)) }
        var backoff = PollBackoff(spins: 0)
        var posted: (SchedulerStats, [LoRAAdapterInfo])?
        while true {
            // Counters change outside steps too (an abort with nothing else running).
            let state = (llm.stats, llm.loraAdapters)
            if posted.map({ $0 != state }) ?? true {
                post(.state(state.0, state.1))
                posted = state
            }
            var any = false
            while let message = link.receive() {
                any = true
                for command in [ReplicaCommand](message: message) {
                    if case let .shutdown(call) = command {
                        llm.shutdown()
                        post(.reply(call: call, .done))
                        sendPosted()
                        link.flush()
                        logInfo("data-parallel replica \(index): \(requests) requests, \(tokensSent) tokens; sent \(bytesSent) bytes to the API server's rank"
                                + (tokensSent > 0 ? ", \(bytesSent / tokensSent) per token\n" : "\n"))
                        return
                    }
                    apply(command)
                }
            }
            if sendPosted() { any = true }
            if any { backoff.reset() } else { backoff.wait() }
        }
    }

    private func post(_ event: ReplicaEvent) { outbox.withLock { $0.append(event) } }

    private func postState() { post(.state(llm.stats, llm.loraAdapters)) }

    /// Sends what was posted as one message; whether there was anything.
    @discardableResult
    private func sendPosted() -> Bool {
        let events = outbox.withLock { events in
            defer { events = [] }
            return events
        }
        guard !events.isEmpty else { return false }
        let message = events.encodedMessage
        link.send(message)
        bytesSent += message.count
        for case let .output(_, delta) in events { tokensSent += delta.outputs.reduce(0) { $0 + $1.tokenIDs.add.count } }
        return true
    }

    private func apply(_ command: ReplicaCommand) {
        switch command {
        case let .add(id, serial, prompt, params, structuredOutputs, priority, lora):
            requests += 1
            var params = params
            params.structuredOutputs = structuredOutputs
            let stream: AsyncThrowingStream<RequestOutput, Error>
            do { stream = try llm.generate(prompt, params, requestID: id, priority: priority, lora: lora) } catch {
                post(.failed(requestID: id, serial: serial, Self.engineError(error)))
                return
            }
            Task { [self] in
                var last: RequestOutput?
                do {
                    for try await out in stream {
                        post(.output(serial: serial, OutputDelta(from: last, to: out)))
                        last = out
                    }
                } catch {
                    post(.failed(requestID: id, serial: serial, Self.engineError(error)))
                }
            }
        case let .abort(id):
            llm.abort(requestID: id)
        case let .loadLoRA(call, request):
            Task { [self] in
                let reply: ReplicaReply
                do { reply = .loaded(try await llm.loadLoRAAdapter(request)) } catch { reply = .loraError(Self.loraError(error)) }
                // The adapters as they are now reach the server before the answer does.
                postState()
                post(.reply(call: call, reply))
            }
        case let .unloadLoRA(call, name):
            Task { [self] in
                let reply: ReplicaReply
                do {
                    try await llm.unloadLoRAAdapter(name: name)
                    reply = .done
                } catch { reply = .loraError(Self.loraError(error)) }
                postState()
                post(.reply(call: call, reply))
            }
        case let .sleep(call, level):
            Task { [self] in
                do {
                    try await llm.sleep(level: level)
                    post(.reply(call: call, .done))
                } catch {
                    post(.reply(call: call, .engineError(Self.engineError(error))))
                }
            }
        case let .wakeUp(tags):
            llm.wakeUp(tags)
        case .shutdown:
            break  // handled by `run`
        }
    }

    private static func loraError(_ error: any Error) -> LoRALoadError {
        error as? LoRALoadError ?? .badRequest("\(error)")
    }

    private static func engineError(_ error: any Error) -> AsyncLLMError {
        error as? AsyncLLMError ?? .rejected("\(error)")
    }
}
