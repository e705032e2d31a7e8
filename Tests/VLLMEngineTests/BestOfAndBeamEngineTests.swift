import Foundation
import Testing
@testable import VLLMEngine

/// best_of and beam search on the real model (an extension of `EngineTests` for its
/// serialization and model).
extension EngineTests {
    /// Runs one request to the end; every output it produced, in order.
    static func outputs(_ e: LLMEngine, _ id: String, _ prompt: [Int], _ params: SamplingParams) throws -> [RequestOutput] {
        try e.addRequest(id: id, prompt: .tokenIDs(prompt), params: params)
        var all: [RequestOutput] = []
        while e.hasUnfinishedRequests { all += e.step().filter { $0.requestID == id } }
        return all
    }

    @Test func cumulativeLogprobIsTheSumOfTheChosenLogprobs() throws {
        let out = try Self.outputs(Self.engine(), "c", Self.prompts[2],
                                   SamplingParams(temperature: 0.8, maxTokens: 10, seed: 4, ignoreEOS: true, logprobs: 0))
        let o = out.last!.outputs[0]
        let sum = o.logprobs!.reduce(0) { $0 + $1[0].logprob }
        #expect(o.cumulativeLogprob != nil && abs(o.cumulativeLogprob! - sum) < 1e-4)
        #expect(o.cumulativeLogprob! < 0)
    }

    @Test func bestOfReturnsTheNBestCandidatesOnlyAtTheEnd() throws {
        let prompt = Self.prompts[5]
        let all = try Self.outputs(Self.engine(), "all", prompt,
                                   SamplingParams(temperature: 1, maxTokens: 8, seed: 11, ignoreEOS: true, n: 5))
        let best = try Self.outputs(Self.engine(), "best", prompt,
                                    SamplingParams(temperature: 1, maxTokens: 8, seed: 11, ignoreEOS: true, n: 2, bestOf: 5))
        #expect(best.count == 1 && best[0].finished)  // no partial outputs
        let candidates = all.last!.outputs.sorted { $0.cumulativeLogprob! > $1.cumulativeLogprob! }
        #expect(best[0].outputs.map(\.tokenIDs) == candidates.prefix(2).map(\.tokenIDs))
        #expect(best[0].outputs.map(\.index) == candidates.prefix(2).map(\.index))
        #expect(best[0].outputs[0].cumulativeLogprob! >= best[0].outputs[1].cumulativeLogprob!)
    }

    @Test func bestOfBelowNAndBeamFieldsOnSamplingAreRefused() throws {
        let e = try Self.engine()
        let cases: [(SamplingParams, String)] = [
            (SamplingParams(n: 3, bestOf: 2), "best_of"),
            (SamplingParams(temperature: 1, lengthPenalty: 2), "length_penalty"),
            (SamplingParams(temperature: 1, earlyStopping: true), "early_stopping"),
            (SamplingParams(temperature: 0.5, bestOf: 2, useBeamSearch: true), "temperature"),
            (SamplingParams(temperature: 0, useBeamSearch: true), "best_of"),
            (SamplingParams(temperature: 0, bestOf: 2, stop: ["x"]), "stop"),
        ]
        for (params, field) in cases {
            #expect(throws: InvalidRequest.self) { try e.addRequest(id: field, prompt: .tokenIDs([1, 2]), params: params) }
            do { try e.addRequest(id: field, prompt: .tokenIDs([1, 2]), params: params) } catch {
                #expect(error.description.contains(field), "\(error.description)")
            }
        }
    }

    /// Beam search through the engine; the finished output.
    static func beamSearch(_ e: LLMEngine, _ prompt: [Int], _ params: BeamSearchParams) throws -> RequestOutput {
        try e.addBeamSearch(id: "beam", prompt: .tokenIDs(prompt), params: params)
        var done: RequestOutput?
        while e.hasUnfinishedRequests { for o in e.step() where o.requestID == "beam" { done = o } }
        return done!
    }

    @Test func beamWidthOneEqualsGreedy() throws {
        for p in Self.prompts.prefix(4) {
            let greedy = try Self.run(Self.engine(), [p], SamplingParams(temperature: 0, maxTokens: 12, ignoreEOS: true))[0]
            let beam = try Self.beamSearch(Self.engine(), p, BeamSearchParams(beamWidth: 1, maxTokens: 12, ignoreEOS: true))
            #expect(beam.outputs.map(\.tokenIDs) == [greedy])
        }
    }

    @Test func beamsAreSortedScoredAndFreeTheirBlocks() throws {
        let e = try Self.engine()
        let prompt = Self.prompts[7]
        let out = try Self.beamSearch(e, prompt, BeamSearchParams(beamWidth: 4, maxTokens: 10, ignoreEOS: true))
        #expect(out.outputs.count == 4)
        #expect(Set(out.outputs.map(\.tokenIDs)).count == 4)
        let cums = out.outputs.map { $0.cumulativeLogprob! }
        #expect(cums == cums.sorted(by: >))  // one length: score order is logprob order
        #expect(out.outputs.allSatisfy { $0.tokenIDs.count == 10 && $0.finishReason == "length" })
        // At least as good as greedy, which width 4 keeps in view at every step.
        let greedy = try Self.outputs(Self.engine(), "g", prompt,
                                      SamplingParams(temperature: 0, maxTokens: 10, ignoreEOS: true)).last!.outputs[0]
        #expect(cums[0] >= greedy.cumulativeLogprob! - 1e-6)
        #expect(e.stats.kvBlocksUsed == 0)
    }

    @Test func olderBeamSearchFormReturnsTheNBestBeams() throws {
        let prompt = Self.tokenizer.encode("<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n")
        let params = SamplingParams(temperature: 0, maxTokens: 8, n: 2, bestOf: 3, earlyStopping: true)
        let outs = try Self.outputs(Self.engine(), "old", prompt, params)
        #expect(outs.count == 1 && outs[0].outputs.count == 2)
        let o = outs[0].outputs
        let scores = o.map { c in
            beamSearchScore(length: prompt.count + c.tokenIDs.count,
                            endsWithEOS: c.tokenIDs.last == Self.tokenizer.eosTokenID,
                            cumulativeLogprob: c.cumulativeLogprob!, lengthPenalty: 1)
        }
        #expect(scores[0] >= scores[1])
        #expect(o.allSatisfy { !$0.text.isEmpty && $0.finishReason != nil })
    }
}

extension EngineTests {
    @Test func asyncStreamsOfBestOfAndBeamSearchHoldOnlyTheFinalOutput() async throws {
        let llm = AsyncLLM(engine: try Self.engine())
        defer { llm.shutdown() }
        let cases = [SamplingParams(temperature: 1, maxTokens: 6, seed: 2, ignoreEOS: true, n: 1, bestOf: 3),
                     SamplingParams(temperature: 0, maxTokens: 6, ignoreEOS: true, n: 2, bestOf: 2)]
        for (i, params) in cases.enumerated() {
            var seen: [RequestOutput] = []
            for try await out in try llm.generate(.tokenIDs(Self.prompts[i]), params, requestID: "s\(i)") { seen.append(out) }
            #expect(seen.count == 1 && seen[0].finished)
            #expect(seen[0].outputs.count == params.n && seen[0].outputs.allSatisfy { $0.tokenIDs.count == 6 })
        }
        #expect(try await Self.idleStats(llm).kvBlocksUsed == 0)
    }
}
