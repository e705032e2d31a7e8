import Foundation
import Testing
import VLLM
@testable import VLLMEngine

/// A data-parallel replica reached over a link (as a replica in other MPI processes is), on the
/// real model: `RemoteAsyncLLM` → link → `ReplicaServer` → its own `AsyncLLM`. An extension of
/// `EngineTests` for its serialization (one driver of the shared model at a time).
extension EngineTests {
    /// Final outputs of `requests` sent at once through `client`, with the replica each went to;
    /// every cumulative output must extend the one before it.
    static func finals(_ client: any EngineClient, _ requests: [(PromptInput, SamplingParams)]) async throws -> [(Int, RequestOutput)] {
        try await withThrowingTaskGroup(of: (Int, Int, RequestOutput).self) { group in
            for (i, (prompt, params)) in requests.enumerated() {
                let (replica, stream) = try client.submit(prompt, params, requestID: "q\(i)", priority: 0, lora: nil)
                group.addTask {
                    var last: RequestOutput?
                    for try await out in stream {
                        if let last, params.n == 1, params.bestOf == nil {
                            #expect(Array(out.outputs[0].tokenIDs.prefix(last.outputs[0].tokenIDs.count)) == last.outputs[0].tokenIDs)
                        }
                        last = out
                    }
                    return (i, replica, try #require(last))
                }
            }
            var all = [(Int, RequestOutput)?](repeating: nil, count: requests.count)
            for try await (i, replica, out) in group { all[i] = (replica, out) }
            return all.map { $0! }
        }
    }

    /// An engine over its own replica of the shared model (engines running at once each need one).
    static func replicaEngine() throws -> LLMEngine {
        var args = EngineArgs()
        args.kvCacheMemory = 256 << 20
        args.maxModelLen = 2048
        return try LLMEngine(model: model.replica(pool: ThreadPool(threadCount: 1)), tokenizer: tokenizer, args: args)
    }

    @Test func aReplicaOverALinkAnswersAsALocalReplica() async throws {
        let (near, far) = InProcessReplicaLink.pair()
        let server = ReplicaServer(llm: AsyncLLM(engine: try Self.replicaEngine()), link: far, index: 1)
        let serving = Thread { server.run() }
        serving.start()
        let local = AsyncLLM(engine: try Self.replicaEngine())
        let remote = RemoteAsyncLLM(link: near, validator: local.engine)
        let overLink = DataParallelLLM(engine: local.engine, replicas: [local, remote])
        let inProcess = DataParallelLLM(replicas: [AsyncLLM(engine: try Self.replicaEngine()), AsyncLLM(engine: try Self.replicaEngine())])
        defer {
            overLink.shutdown()
            inProcess.shutdown()
        }
        var kinds = [
            Self.greedy,
            SamplingParams(temperature: 0.8, topK: 40, presencePenalty: 0.3, maxTokens: 20, seed: 7, logprobs: 3),
            SamplingParams(temperature: 0.9, maxTokens: 12, seed: 3, logprobs: 1, n: 3),
            SamplingParams(temperature: 0.7, maxTokens: 10, seed: 5, n: 2, bestOf: 3),
            SamplingParams(temperature: 0, maxTokens: 30, stop: [" the", "."]),
            SamplingParams(temperature: 0, maxTokens: 8, logprobs: 2, n: 2, bestOf: 2),  // beam search
        ]
        kinds[0].promptLogprobs = 2
        var requests: [(PromptInput, SamplingParams)] = Self.prompts.prefix(6).enumerated().map { i, p in (.tokenIDs(p), kinds[i]) }
        requests.append((.text("The capital of France is"), Self.greedy))
        requests.append((.text("Zürich, 東京 and Ærøskøbing are"), SamplingParams(temperature: 0, maxTokens: 16, logprobs: 1)))

        let got = try await Self.finals(overLink, requests)
        let want = try await Self.finals(inProcess, requests)
        #expect(Set(got.map(\.0)) == [0, 1], "both replicas served")
        for (i, ((r, a), (s, b))) in zip(got, want).enumerated() {
            #expect(r == s, "request \(i) routed alike")
            #expect(a.promptTokenIDs == b.promptTokenIDs && a.numCachedTokens == b.numCachedTokens, "request \(i)")
            #expect(a.outputs.map(\.tokenIDs) == b.outputs.map(\.tokenIDs), "request \(i)")
            #expect(a.outputs.map(\.text) == b.outputs.map(\.text), "request \(i): \(a.outputs.map(\.text)) vs \(b.outputs.map(\.text))")
            #expect(a.outputs.map(\.finishReason) == b.outputs.map(\.finishReason) && a.outputs.map(\.stopReason) == b.outputs.map(\.stopReason))
            #expect(a.outputs.map(\.logprobRanks) == b.outputs.map(\.logprobRanks))
            for (x, y) in zip(a.outputs, b.outputs) {
                #expect((x.logprobs == nil) == (y.logprobs == nil))
                for (p, q) in zip(x.logprobs ?? [], y.logprobs ?? []) {
                    #expect(p.map(\.tokenID) == q.map(\.tokenID))
                    for (u, v) in zip(p, q) { #expect(abs(u.logprob - v.logprob) <= 1e-4) }
                }
                #expect(abs((x.cumulativeLogprob ?? 0) - (y.cumulativeLogprob ?? 0)) <= 1e-3)
            }
            #expect((a.promptLogprobs == nil) == (b.promptLogprobs == nil))
            #expect((a.metrics == nil) == (b.metrics == nil))
            if let m = a.metrics {
                #expect(m.firstTokenTime != nil && m.lastTokenTime.map { $0 >= m.arrivalTime } == true)
            }
        }

        // A request aborted on the remote replica frees its blocks there; the counters say so.
        let long = SamplingParams(temperature: 0, maxTokens: 1500, ignoreEOS: true)
        let (_, first) = try overLink.submit(.tokenIDs(Self.prompts[0]), long, requestID: "long0", priority: 0, lora: nil)
        let (replica, second) = try overLink.submit(.tokenIDs(Self.prompts[1]), long, requestID: "long1", priority: 0, lora: nil)
        #expect(replica == 1)
        var seen = 0
        for try await _ in second {
            seen += 1
            if seen == 3 { overLink.abort(requestID: "long1") }
        }
        overLink.abort(requestID: "long0")
        for try await _ in first {}
        var stats = remote.stats
        for _ in 0..<2000 where stats.numRunning + stats.numWaiting > 0 || stats.kvBlocksUsed > 0 {
            try await Task.sleep(for: .milliseconds(5))
            stats = remote.stats
        }
        #expect(stats.numRunning == 0 && stats.numWaiting == 0 && stats.kvBlocksUsed == 0)
        #expect(remote.requestsInFlight == 0)

        // Refusals come back at once, as from a local replica.
        #expect(throws: InvalidRequest.self) { try remote.generate(.tokenIDs([]), Self.greedy, requestID: "empty", priority: 0, lora: nil) }
        // Sleep reaches the remote replica; asleep, it refuses requests until woken.
        try await overLink.sleep(level: 1)
        #expect(remote.isSleeping)
        #expect(throws: AsyncLLMError.asleep) { try remote.generate(.tokenIDs(Self.prompts[0]), Self.greedy, requestID: "zz", priority: 0, lora: nil) }
        overLink.wakeUp(nil)
        let again = try await Self.finals(DataParallelLLM(engine: local.engine, replicas: [remote]), [(.tokenIDs(Self.prompts[0]), Self.greedy)])
        #expect(again[0].1.outputs[0].tokenIDs == want[0].1.outputs[0].tokenIDs)
    }
}
