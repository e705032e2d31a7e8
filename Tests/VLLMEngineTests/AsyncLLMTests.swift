import Foundation
import Synchronization
import Testing
import VLLMCompute
@testable import VLLMEngine

/// The streaming engine on the real model. An extension of `EngineTests` so it shares that
/// suite's serialization: one model, one thread pool, one driver at a time.
extension EngineTests {
    /// Waits (bounded) until the engine loop has no request left, then returns its counters.
    static func idleStats(_ llm: AsyncLLM) async throws -> SchedulerStats {
        for _ in 0..<2000 {
            let s = llm.stats
            if s.numRunning == 0 && s.numWaiting == 0 { return s }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("engine did not become idle")
        return llm.stats
    }

    @Test func asyncStreamsMatchTheSynchronousEngine() async throws {
        let prompts = Array(Self.prompts.prefix(8))
        let expected = try Self.run(Self.engine(), prompts, Self.greedy)
        let llm = AsyncLLM(engine: try Self.engine())
        defer { llm.shutdown() }
        let streamed = try await withThrowingTaskGroup(of: (Int, [[Int]]).self) { group in
            for (i, p) in prompts.enumerated() {
                let stream = try llm.generate(.tokenIDs(p), Self.greedy, requestID: "a\(i)")
                group.addTask {
                    var snapshots: [[Int]] = []
                    for try await out in stream { snapshots.append(out.outputs[0].tokenIDs) }
                    return (i, snapshots)
                }
            }
            var all = [[[Int]]](repeating: [], count: prompts.count)
            for try await (i, s) in group { all[i] = s }
            return all
        }
        for (i, snapshots) in streamed.enumerated() {
            // One cumulative output per generated token, each extending the one before.
            #expect(snapshots.map(\.count) == Array(1...Self.greedy.maxTokens), "prompt \(i)")
            #expect(snapshots.last == expected[i], "prompt \(i)")
            for (a, b) in zip(snapshots, snapshots.dropFirst()) { #expect(Array(b.prefix(a.count)) == a) }
        }
        #expect(try await Self.idleStats(llm).kvBlocksUsed == 0)
    }

    @Test func cancelledConsumerAbortsItsRequest() async throws {
        let llm = AsyncLLM(engine: try Self.engine())
        defer { llm.shutdown() }
        let long = SamplingParams(temperature: 0, maxTokens: 1500, ignoreEOS: true)
        let stream = try llm.generate(.tokenIDs(Self.prompts[0]), long, requestID: "long")
        let seen = Mutex(0)
        // The consumer cancels itself after its third output, so how soon the cancel happens does not
        // depend on when a loaded machine schedules another task.
        let consumer = Task {
            for try await _ in stream {
                if seen.withLock({ $0 += 1; return $0 }) == 3 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        _ = await consumer.result
        let stats = try await Self.idleStats(llm)
        #expect(stats.kvBlocksUsed == 0)
        // Outputs already buffered are still delivered; a request that was not aborted delivers all 1500.
        #expect(seen.withLock { $0 } < long.maxTokens / 2, "aborted after \(seen.withLock { $0 }) outputs")
        // The id is free again, and the engine still serves requests.
        var last: RequestOutput?
        for try await out in try llm.generate(.tokenIDs(Self.prompts[1]), Self.greedy, requestID: "long") { last = out }
        #expect(last?.outputs[0].tokenIDs == (try Self.run(Self.engine(), [Self.prompts[1]], Self.greedy))[0])
    }

    @Test func asyncRefusesBadRequestsAtOnceAndShutsDownCleanly() async throws {
        let llm = AsyncLLM(engine: try Self.engine())
        #expect(throws: InvalidRequest.emptyPrompt) { try llm.generate(.tokenIDs([]), SamplingParams(), requestID: "e") }
        #expect(throws: InvalidRequest.self) { try llm.generate(.tokenIDs([1]), SamplingParams(maxTokens: 9000), requestID: "l") }
        let params = SamplingParams(temperature: 0, maxTokens: 1500, ignoreEOS: true)
        let stream = try llm.generate(.tokenIDs(Self.prompts[2]), params, requestID: "x")
        #expect(throws: InvalidRequest.duplicateID("x")) { try llm.generate(.tokenIDs([1]), SamplingParams(), requestID: "x") }
        var iterator = stream.makeAsyncIterator()
        _ = try await iterator.next()
        llm.shutdown()
        await #expect(throws: AsyncLLMError.shutDown) { while try await iterator.next() != nil {} }
        #expect(throws: AsyncLLMError.shutDown) { try llm.generate(.tokenIDs([1]), SamplingParams(), requestID: "y") }
    }
}
