import Foundation
import Testing
@testable import VLLMCompute
@testable import VLLMEngine

/// Caller ids are keys of the caller's requests only: ids shaped like engine-internal ones
/// (`X#0`, `X#beam0`, bare counters) or reused while in flight never touch another request.
extension EngineTests {
    @Test func idsShapedLikeInternalOnesDoNotCollide() throws {
        let e = try Self.engine()
        let p = Self.prompts[1]
        try e.addRequest(id: "X", prompt: .tokenIDs(p), params: SamplingParams(temperature: 1, maxTokens: 4, seed: 1, ignoreEOS: true, n: 2))
        try e.addRequest(id: "X#0", prompt: .tokenIDs(p), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEOS: true))
        try e.addRequest(id: "0", prompt: .tokenIDs(p), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEOS: true))
        try e.addRequest(id: "B", prompt: .tokenIDs(p), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEOS: true, bestOf: 2, useBeamSearch: true))
        try e.addRequest(id: "B#beam0", prompt: .tokenIDs(p), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEOS: true, bestOf: 2, useBeamSearch: true))
        var done: [String: RequestOutput] = [:]
        var steps = 0
        while e.hasUnfinishedRequests && steps < 200 {
            for o in e.step() where o.finished { done[o.requestID] = o }
            steps += 1
        }
        #expect(Set(done.keys) == ["X", "X#0", "0", "B", "B#beam0"])
        #expect(done["X"]?.outputs.count == 2 && done["X#0"]?.outputs.count == 1)
        #expect(done["B"]?.outputs.map(\.tokenIDs) == done["B#beam0"]?.outputs.map(\.tokenIDs))
        #expect(done["X#0"]?.outputs[0].tokenIDs == done["0"]?.outputs[0].tokenIDs)
        #expect(e.stats.kvBlocksUsed == 0)
    }

    @Test func aDuplicateIDIsRefusedWithoutTouchingTheRequestInFlight() throws {
        let e = try Self.engine()
        let p = Self.prompts[2]
        try e.addRequest(id: "X", prompt: .tokenIDs(p), params: SamplingParams(temperature: 1, maxTokens: 4, seed: 1, ignoreEOS: true, n: 2))
        try e.addRequest(id: "Y", prompt: .tokenIDs(p), params: SamplingParams(temperature: 0, maxTokens: 4, ignoreEOS: true, bestOf: 2, useBeamSearch: true))
        for id in ["X", "Y"] {
            #expect(throws: InvalidRequest.duplicateID(id)) {
                try e.addRequest(id: id, prompt: .tokenIDs(p), params: SamplingParams(maxTokens: 2))
            }
            #expect(throws: InvalidRequest.duplicateID(id)) {
                try e.addBeamSearch(id: id, prompt: .tokenIDs(p), params: BeamSearchParams(beamWidth: 2, maxTokens: 2))
            }
        }
        var done: Set<String> = []
        var steps = 0
        while e.hasUnfinishedRequests && steps < 200 {
            for o in e.step() where o.finished { done.insert(o.requestID) }
            steps += 1
        }
        #expect(done == ["X", "Y"])
        #expect(e.stats.kvBlocksUsed == 0)
    }

    /// Random adds (n > 1, best_of, beam search, ids drawn from a small adversarial set so
    /// reuse and internal-looking ids are common), aborts and steps: every accepted request
    /// finishes or is aborted, outputs go to the request that asked (its prompt, its count of
    /// completions; greedy ones equal the request run alone), nothing hangs, no block leaks.
    @Test func randomAdversarialIDsNeverCrossTalkHangOrLeak() throws {
        let e = try Self.engine { $0.kvCacheMemory = 24 << 20; $0.maxModelLen = 512 }
        var rng = SplitMix64(seed: 77)
        let ids = ["A", "A#0", "A#1", "A#beam0", "A#beam1", "0", "1", "2", "", "srv-0", "B#0#1"]
        let prompts = Array(Self.prompts.prefix(3))
        var alone: [Int: [Int]] = [:]
        for (i, p) in prompts.enumerated() {
            alone[i] = try Self.run(Self.engine(), [p], SamplingParams(temperature: 0, maxTokens: 3, ignoreEOS: true))[0]
        }
        struct Live { let prompt: Int; let expected: Int; let greedySingle: Bool }
        var live: [String: Live] = [:]
        var finished = 0, refused = 0, aborted = 0
        for _ in 0..<120 {
            let op = rng.next() % 10
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            if op < 5 {
                let pi = Int(rng.next() % 3)
                let kind = rng.next() % 4
                let params: SamplingParams = switch kind {
                case 0: SamplingParams(temperature: 0, maxTokens: 3, ignoreEOS: true)
                case 1: SamplingParams(temperature: 1, maxTokens: 3, seed: rng.next() % 100, ignoreEOS: true, n: 2)
                case 2: SamplingParams(temperature: 1, maxTokens: 3, seed: 5, ignoreEOS: true, n: 1, bestOf: 3)
                default: SamplingParams(temperature: 0, maxTokens: 3, ignoreEOS: true, n: 2, bestOf: 2, useBeamSearch: true)
                }
                do {
                    try e.addRequest(id: id, prompt: .tokenIDs(prompts[pi]), params: params)
                    #expect(live[id] == nil, "accepted \(id) while it was in flight")
                    live[id] = Live(prompt: pi, expected: params.n, greedySingle: kind == 0)
                } catch {
                    #expect(error == .duplicateID(id) && live[id] != nil, "\(error)")
                    refused += 1
                }
            } else if op < 6 {
                e.abortRequest(id: id)
                if live.removeValue(forKey: id) != nil { aborted += 1 }
            } else {
                for o in e.step() where o.finished {
                    guard let l = live.removeValue(forKey: o.requestID) else {
                        Issue.record("output for \(o.requestID), which is not in flight")
                        continue
                    }
                    #expect(o.promptTokenIDs == prompts[l.prompt])
                    #expect(o.outputs.count == l.expected)
                    if l.greedySingle { #expect(o.outputs[0].tokenIDs == alone[l.prompt]) }
                    finished += 1
                }
            }
        }
        var steps = 0
        while e.hasUnfinishedRequests && steps < 500 {
            for o in e.step() where o.finished {
                #expect(live.removeValue(forKey: o.requestID) != nil)
                finished += 1
            }
            steps += 1
        }
        #expect(live.isEmpty && !e.hasUnfinishedRequests)
        #expect(e.stats.kvBlocksUsed == 0)
        #expect(finished > 10 && refused > 0 && aborted > 0, "finished \(finished), refused \(refused), aborted \(aborted)")
    }
}
