import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// Sampling parameters on the real model. An extension of `EngineTests` so it shares that
/// suite's serialization and model.
extension EngineTests {
    /// Runs requests with their own parameters at once; finished outputs by request id.
    static func runMixed(_ engine: LLMEngine, _ requests: [(id: String, prompt: [Int], params: SamplingParams)]) throws
        -> [String: CompletionOutput] {
        for r in requests { try engine.addRequest(id: r.id, prompt: .tokenIDs(r.prompt), params: r.params) }
        var done: [String: CompletionOutput] = [:]
        while engine.hasUnfinishedRequests {
            for out in engine.step() where out.finished { done[out.requestID] = out.outputs[0] }
        }
        return done
    }

    @Test func topK1GivesTheGreedyOutput() throws {
        let prompts = Array(Self.prompts.prefix(4))
        let greedy = try Self.run(Self.engine(), prompts, SamplingParams(temperature: 0, maxTokens: 12, ignoreEOS: true))
        let topK1 = try Self.run(Self.engine(), prompts,
                                 SamplingParams(temperature: 1.5, topK: 1, maxTokens: 12, seed: 3, ignoreEOS: true))
        #expect(topK1 == greedy)
    }

    @Test func seededTopPIsTheSameAloneAndInABusyBatch() throws {
        let params = SamplingParams(temperature: 0.9, topP: 0.9, topK: 100, repetitionPenalty: 1.1, maxTokens: 16,
                                    seed: 1234, ignoreEOS: true)
        let prompt = Self.prompts[3]
        let alone = try Self.runMixed(Self.engine(), [("x", prompt, params)])["x"]!.tokenIDs
        var batch: [(id: String, prompt: [Int], params: SamplingParams)] = (0..<7).map {
            ("o\($0)", Self.prompts[10 + $0],
             SamplingParams(temperature: 1, topP: 0.8, maxTokens: 8 + $0, seed: UInt64($0), ignoreEOS: true))
        }
        batch.insert(("x", prompt, params), at: 3)
        let batched = try Self.runMixed(Self.engine(), batch)["x"]!.tokenIDs
        #expect(alone.count == 16)
        #expect(batched == alone)
        // A different seed takes another path (16 tokens at T = 0.9: equal only by a fluke).
        var other = params
        other.seed = 99
        let reseeded = try Self.runMixed(Self.engine(), [("x", prompt, other)])["x"]!.tokenIDs
        #expect(reseeded != alone)
    }

    @Test func minTokensHoldsOffAStopToken() throws {
        let prompt = Self.prompts[1]
        let base = SamplingParams(temperature: 0, maxTokens: 12, ignoreEOS: true)
        let free = try Self.runMixed(Self.engine(), [("g", prompt, base)])["g"]!
        let first = free.tokenIDs[0]
        var stopAtFirst = base
        stopAtFirst.stopTokenIDs = [first]
        let stopped = try Self.runMixed(Self.engine(), [("s", prompt, stopAtFirst)])["s"]!
        #expect(stopped.tokenIDs == [first] && stopped.finishReason == "stop")
        var held = stopAtFirst
        held.minTokens = 5
        let out = try Self.runMixed(Self.engine(), [("m", prompt, held)])["m"]!
        #expect(out.tokenIDs.count >= 5)
        #expect(!out.tokenIDs.prefix(5).contains(first))
        if out.finishReason == "stop" { #expect(out.tokenIDs.last == first) } else { #expect(out.tokenIDs.count == 12) }
    }

    @Test func badWordsKeepAWordOutOfTheOutput() throws {
        let prompt = Self.tokenizer.encode("The capital of France is")
        let base = SamplingParams(temperature: 0, maxTokens: 6, ignoreEOS: true)
        let free = try Self.runMixed(Self.engine(), [("g", prompt, base)])["g"]!
        let first = free.tokenIDs[0]
        let word = Self.tokenizer.decode([first])
        var banned = base
        banned.badWords = [word]
        banned.tokenizeBadWords { Self.tokenizer.encode($0, addSpecialTokens: false) }
        #expect(banned.badWordsTokenIDs.contains([first]), "\(word): \(banned.badWordsTokenIDs)")
        let out = try Self.runMixed(Self.engine(), [("b", prompt, banned)])["b"]!
        #expect(out.tokenIDs.count == 6 && !out.tokenIDs.contains(first))
    }

    @Test func vocabularyChecksRejectBadTokenIDs() throws {
        let e = try Self.engine()
        for (params, field) in [(SamplingParams(logitBias: [49152: 1]), "logit_bias"),
                                (SamplingParams(allowedTokenIDs: [-3]), "allowed_token_ids")] {
            do {
                try e.addRequest(id: field, prompt: .tokenIDs([1]), params: params)
                Issue.record("\(field) accepted")
            } catch {
                #expect(error.description.contains(field))
            }
        }
    }
}
