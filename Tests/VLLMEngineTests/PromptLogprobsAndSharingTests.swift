import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// Prompt logprobs and the block sharing of parallel sampling, on the real model (an extension
/// of `EngineTests` for its serialization and model).
extension EngineTests {
    /// Prompt logprobs of `prompt` (one generated token), with the engine's counters after.
    static func promptLogprobs(_ e: LLMEngine, _ id: String, _ prompt: [Int], k: Int = 3) throws -> [StepLogprobs?] {
        let params = SamplingParams(temperature: 0, maxTokens: 1, promptLogprobs: k)
        return try Self.outputs(e, id, prompt, params).last!.promptLogprobs!
    }

    @Test func promptLogprobsMatchTheLogprobsOfTheSameTokensGenerated() throws {
        let prompt = Self.prompts[4]
        let gen = try Self.outputs(Self.engine(), "g", prompt,
                                   SamplingParams(temperature: 0, maxTokens: 12, ignoreEOS: true, logprobs: 3)).last!
        #expect(gen.promptLogprobs == nil)
        let steps = gen.outputs[0].logprobs!
        // Teacher forcing: the prompt followed by the greedy tokens gives the same numbers.
        let forced = try Self.promptLogprobs(Self.engine(), "f", prompt + gen.outputs[0].tokenIDs)
        #expect(forced.count == prompt.count + 12)
        #expect(forced[0] == nil)
        #expect(forced.dropFirst().allSatisfy { $0?.count == 4 })
        for (i, step) in steps.dropLast().enumerated() {
            let f = forced[prompt.count + i]!
            #expect(f[0].tokenID == gen.outputs[0].tokenIDs[i])
            #expect(abs(f[0].logprob - step[0].logprob) < 2e-3)
            #expect(f.dropFirst().map(\.tokenID) == step.dropFirst().map(\.tokenID))
        }
        // The prompt's own first positions: the actual token first, then the top 3.
        let first = forced[1]!
        #expect(first[0].tokenID == prompt[1])
        #expect(first[1].logprob >= first[2].logprob && first[2].logprob >= first[3].logprob)
    }

    @Test func promptLogprobsIgnoreChunkingAndThePrefixCache() throws {
        var rng = SplitMix64(seed: 21)
        let prompt = (0..<300).map { _ in Int(100 + rng.next() % 30000) }
        let whole = try Self.promptLogprobs(Self.engine(), "w", prompt)
        let e = try Self.engine { $0.maxNumBatchedTokens = 64 }
        _ = try Self.run(e, [prompt], SamplingParams(temperature: 0, maxTokens: 1))  // warms the prefix cache
        let hits = e.stats.prefixCacheHits
        let chunked = try Self.promptLogprobs(e, "c", prompt)
        #expect(e.stats.prefixCacheHits == hits)  // computed again, not served from the cache
        #expect(chunked.count == 300)
        for (a, b) in zip(whole.dropFirst(), chunked.dropFirst()) {
            #expect(a!.map(\.tokenID) == b!.map(\.tokenID))
            #expect(abs(a![0].logprob - b![0].logprob) < 2e-3)
        }
    }

    @Test func forkedBeamsKeepCorrectKV() throws {
        // Each beam's cumulative logprob, computed on forked and copied-on-write blocks, equals
        // the one a fresh forward pass gives its tokens.
        let prompt = Self.prompts[9]
        let out = try Self.beamSearch(Self.engine(), prompt, BeamSearchParams(beamWidth: 3, maxTokens: 20, ignoreEOS: true))
        for beam in out.outputs {
            let forced = try Self.promptLogprobs(Self.engine(), "v", prompt + beam.tokenIDs, k: 0)
            let sum = forced[prompt.count...].reduce(0.0) { $0 + $1![0].logprob }
            #expect(abs(sum - beam.cumulativeLogprob!) < 5e-3, "\(beam.tokenIDs)")
        }
    }

    /// Peak KV blocks of one run of `requests` (prompt, params) on a fresh engine.
    static func peakBlocks(_ requests: [([Int], SamplingParams)]) throws -> Int {
        let e = try Self.engine()
        for (i, r) in requests.enumerated() { try e.addRequest(id: "r\(i)", prompt: .tokenIDs(r.0), params: r.1) }
        while e.hasUnfinishedRequests { _ = e.step() }
        #expect(e.stats.kvBlocksUsed == 0)
        return e.stats.peakKVBlocksUsed
    }

    @Test func parallelSamplingSharesThePromptBlocks() throws {
        // 200-token prompts, 64 tokens each: n = 8 against 8 requests with different prompts.
        var rng = SplitMix64(seed: 8)
        let prompts = (0..<8).map { _ in (0..<200).map { _ in Int(100 + rng.next() % 30000) } }
        let params = SamplingParams(temperature: 1, maxTokens: 64, seed: 1, ignoreEOS: true)
        var parallel = params
        parallel.n = 8
        let shared = try Self.peakBlocks([(prompts[0], parallel)])
        let independent = try Self.peakBlocks(prompts.map { ($0, params) })
        print("KV blocks (16 tokens each), 200-token prompt + 64 tokens: n=8 peak \(shared), 8 independent peak \(independent)")
        // Each sequence needs ceil(263 / 16) = 17 blocks; the 12 full prompt blocks are shared.
        #expect(independent == 8 * 17)
        #expect(shared <= 12 + 8 * 5)
        #expect(Double(shared) < 0.45 * Double(independent))
    }

    @Test func parallelSamplingComputesThePromptOnceWithoutThePrefixCache() throws {
        var rng = SplitMix64(seed: 9)
        let prompt = (0..<200).map { _ in Int(100 + rng.next() % 30000) }
        let greedy = SamplingParams(temperature: 0, maxTokens: 6, ignoreEOS: true)
        var parallel = greedy
        parallel.n = 4
        let e = try Self.engine { $0.enablePrefixCaching = false }
        try e.addRequest(id: "p", prompt: .tokenIDs(prompt), params: parallel)
        var computed = 0, outputs: [[Int]] = []
        while e.hasUnfinishedRequests {
            for out in e.step() where out.finished { outputs = out.outputs.map(\.tokenIDs) }
            computed += e.engineCore.lastStepTokens
        }
        // The prompt once; each sibling its last prompt token again; then 5 decode steps each.
        #expect(computed == 200 + 3 + 4 * 5)
        // 13 blocks of the leader (12 full, shared), and a copy of the partial one for three.
        #expect(e.stats.peakKVBlocksUsed == 13 + 3)
        let alone = try Self.run(Self.engine(), [prompt], greedy)[0]
        #expect(outputs.count == 4 && outputs.allSatisfy { $0 == alone })
    }
}
