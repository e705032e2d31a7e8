import Foundation
import Testing
@testable import VLLMEngine
import VLLMModels
import VLLMStructuredOutput
@testable import VLLMDistributed

/// What crosses a data-parallel replica's link: commands survive JSON, and a request's outputs
/// sent as changes rebuild every cumulative output exactly, whatever changed between two (tokens
/// added, a beam rewritten, text with multi-scalar characters, logprobs, milestones).
@Suite struct ReplicaMessageTests {
    @Test func randomOutputSequencesRebuildExactly() {
        var rng = SystemRandomNumberGenerator()
        let words = ["a", " the", "é", "👍🏽", "\n", " 東京", "", "x"]
        for _ in 0..<300 {
            let arrival = ContinuousClock.now
            var sent: RequestOutput?, rebuilt: RequestOutput?
            var outputs = (0..<Int.random(in: 1...3, using: &rng)).map { CompletionOutput(index: $0) }
            let withLogprobs = Bool.random(using: &rng)
            var metrics = RequestMetrics(arrivalTime: arrival)
            for step in 0..<Int.random(in: 1...12, using: &rng) {
                for i in outputs.indices where Bool.random(using: &rng) {
                    var o = outputs[i]
                    if Int.random(in: 0..<5, using: &rng) == 0 && !o.tokenIDs.isEmpty {
                        // A beam rewritten from some point on.
                        let cut = Int.random(in: 0..<o.tokenIDs.count, using: &rng)
                        o.tokenIDs.removeLast(o.tokenIDs.count - cut)
                        o.logprobs = o.logprobs.map { Array($0.prefix(cut)) }
                        o.logprobRanks = o.logprobRanks.map { Array($0.prefix(cut)) }
                        o.text = String(o.text.unicodeScalars.prefix(Int.random(in: 0...o.text.unicodeScalars.count, using: &rng)).map(Character.init))
                    }
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        o.tokenIDs.append(Int.random(in: 0..<50_000, using: &rng))
                        o.text += words.randomElement(using: &rng)!
                        if withLogprobs {
                            // A token a grammar or bias rules out has logprob -inf.
                            let top = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                                (tokenID: Int.random(in: 0..<50_000, using: &rng), logprob: Int.random(in: 0..<8, using: &rng) == 0 ? -.infinity : -Double.random(in: 0...20, using: &rng))
                            }
                            o.logprobs = (o.logprobs ?? []) + [top]
                            o.logprobRanks = (o.logprobRanks ?? []) + [Int.random(in: 1...100, using: &rng)]
                        }
                    }
                    o.cumulativeLogprob = withLogprobs ? -Double.random(in: 0...100, using: &rng) : nil
                    if Int.random(in: 0..<6, using: &rng) == 0 { (o.finishReason, o.stopReason) = ("stop", "\n") }
                    outputs[i] = o
                }
                if step == 0 { metrics.firstScheduledTime = arrival + .milliseconds(3) }
                metrics.lastTokenTime = arrival + .milliseconds(10 * step + 5)
                var out = RequestOutput(requestID: "r", promptTokenIDs: [1, 2, 3], outputs: outputs, metrics: Bool.random(using: &rng) ? metrics : nil,
                                        numCachedTokens: step > 0 ? 2 : nil)
                if withLogprobs && step > 0 { out.promptLogprobs = [nil, [(tokenID: 2, logprob: -1.5)], [(tokenID: 3, logprob: -0.25), (tokenID: 9, logprob: -0.5)]] }
                let delta = OutputDelta(from: sent, to: out)
                // Through the link's encoding.
                let event = [ReplicaEvent.output(serial: 1, delta)]
                guard case let .output(_, received) = [ReplicaEvent](message: event.encodedMessage)[0] else { Issue.record("not an output"); return }
                #expect(received == delta)
                let next = received.applied(to: rebuilt, arrival: arrival)
                Self.expectSame(next, out)
                sent = out
                rebuilt = next
            }
        }
    }

    static func expectSame(_ a: RequestOutput, _ b: RequestOutput) {
        #expect(a.requestID == b.requestID && a.promptTokenIDs == b.promptTokenIDs && a.numCachedTokens == b.numCachedTokens)
        #expect(a.promptLogprobs.map { $0.map { $0.map(WireLogprobs.init) } } == b.promptLogprobs.map { $0.map { $0.map(WireLogprobs.init) } })
        #expect(a.outputs.count == b.outputs.count)
        for (x, y) in zip(a.outputs, b.outputs) {
            #expect(x.index == y.index && x.text == y.text && x.tokenIDs == y.tokenIDs && x.logprobRanks == y.logprobRanks)
            #expect(x.logprobs.map { $0.map(WireLogprobs.init) } == y.logprobs.map { $0.map(WireLogprobs.init) })
            #expect(x.cumulativeLogprob == y.cumulativeLogprob && x.finishReason == y.finishReason && x.stopReason == y.stopReason)
        }
        #expect((a.metrics == nil) == (b.metrics == nil))
        if let m = a.metrics, let n = b.metrics {
            for (p, q) in [(m.firstScheduledTime, n.firstScheduledTime), (m.firstTokenTime, n.firstTokenTime), (m.lastTokenTime, n.lastTokenTime)] {
                #expect((p == nil) == (q == nil))
                if let p, let q { #expect(abs((p - q) / .nanoseconds(1)) < 1_000) }
            }
        }
    }

    @Test func commandsRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var p = SamplingParams(temperature: Float.random(in: 0...2, using: &rng), topP: Float.random(in: 0.1...1, using: &rng),
                                   topK: Int.random(in: -1...50, using: &rng), maxTokens: Int.random(in: 1...4096, using: &rng),
                                   seed: Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64.max, using: &rng) : nil,
                                   logprobs: Bool.random(using: &rng) ? Int.random(in: 0...20, using: &rng) : nil, n: Int.random(in: 1...4, using: &rng),
                                   stop: Bool.random(using: &rng) ? ["\n", "é👍"] : [], logitBias: [Int.random(in: 6...100, using: &rng): -100, 5: 2.5])
            p.truncatePromptTokens = Bool.random(using: &rng) ? -1 : nil
            p.structuredOutputs = Bool.random(using: &rng) ? StructuredOutputsParams(json: #"{"type":"object"}"#, disableAnyWhitespace: true) : nil
            let prompt: PromptInput = switch Int.random(in: 0..<3, using: &rng) {
            case 0: .text("Hello \u{0} 東京")
            case 1: .tokenIDs([1, 2, Int.random(in: 0..<50_000, using: &rng)])
            default: .embeddings(PromptEmbeddings(rows: 2, hiddenSize: 2, values: [0.5, -1e-7, 3, Float.random(in: -1...1, using: &rng)])!)
            }
            // The params' JSON form leaves the constraint out: it travels beside them.
            var wire = p
            wire.structuredOutputs = nil
            let commands: [ReplicaCommand] = [
                .add(requestID: "r\(Int.random(in: 0...9, using: &rng))", serial: 4, prompt: prompt, params: wire,
                     structuredOutputs: p.structuredOutputs, priority: -3, lora: LoRARequest(loraName: "a", loraIntId: 2, loraPath: "/x", baseModelName: nil)),
                .abort(requestID: "r"), .sleep(call: 1, level: 2), .wakeUp([.kvCache]), .wakeUp(nil), .shutdown(call: 9),
            ]
            let back = [ReplicaCommand](message: commands.encodedMessage)
            #expect(back == commands)
            guard case let .add(_, _, _, params, so, _, _) = back[0] else { continue }
            var decoded = params
            decoded.structuredOutputs = so
            #expect(decoded == p)
        }
    }

    @Test func eventsRoundTrip() {
        var stats = SchedulerStats()
        stats.numRunning = 3
        stats.kvUsage = 0.125
        stats.runningLoRAIDs = [1, 4]
        stats.offload = OffloadStats(blocksStored: 2, blocksLoaded: 1, queries: 9, hits: 4, slotsUsed: 2, slots: 8)
        stats.specDecoding.acceptedPerPosition = [3, 1]
        let info = LoRAAdapterInfo(name: "a", intID: 1, path: "/a", rank: 8, baseModelName: nil, bytes: 100, kvBlocks: 2, activeRequests: 0)
        let events: [ReplicaEvent] = [
            .step(iterationTokens: 7, stats), .state(stats, [info]), .failed(requestID: "x", serial: 2, .saturated(waiting: 3)),
            .reply(call: 1, .loaded(info)), .reply(call: 2, .loraError(.inUse(name: "a", requests: 2))), .reply(call: 3, .engineError(.asleep)),
        ]
        #expect([ReplicaEvent](message: events.encodedMessage) == events)
    }
}
