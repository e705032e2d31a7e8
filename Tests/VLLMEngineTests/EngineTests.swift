import Foundation
import Testing
import VLLMCompute
import VLLMModels
import VLLMTestSupport
import VLLMTokenizers
@testable import VLLMEngine

/// The engine on the real default model: continuous batching, preemption, chunked prefill and
/// prefix caching must not change greedy outputs.
@Suite(.serialized) struct EngineTests {
    static let model: DecoderModel = {
        let gguf = try! GGUFFile(path: TestPaths.defaultModel)
        return try! DecoderModel(gguf: gguf, pool: ThreadPool(), maxBatchTokens: 512)
    }()
    static let tokenizer = try! Tokenizer(gguf: GGUFFile(path: TestPaths.defaultModel))

    static func engine(_ configure: (inout EngineArgs) -> Void = { _ in }) throws -> LLMEngine {
        var args = EngineArgs()
        args.kvCacheMemory = 256 << 20
        args.maxModelLen = 2048
        configure(&args)
        return try LLMEngine(model: model, tokenizer: tokenizer, args: args)
    }

    /// Runs every prompt through `engine` at once; outputs' token ids in input order.
    static func run(_ engine: LLMEngine, _ prompts: [[Int]], _ params: SamplingParams) throws -> [[Int]] {
        for (i, p) in prompts.enumerated() { try engine.addRequest(id: "r\(i)", prompt: .tokenIDs(p), params: params) }
        var done: [String: [Int]] = [:]
        while engine.hasUnfinishedRequests {
            for out in engine.step() where out.finished { done[out.requestID] = out.outputs[0].tokenIDs }
        }
        return prompts.indices.map { done["r\($0)"]! }
    }

    /// 64 prompts of mixed lengths and kinds (chat, plain, code, long).
    static let prompts: [[Int]] = {
        let ref = try! TestPaths.referenceLines("generation.jsonl").map { ($0["prompt_token_ids"] as! [Any]).map { ($0 as! NSNumber).intValue } }
        var rng = SplitMix64(seed: 5)
        return (0..<64).map { i in
            let base = ref[i % ref.count]
            let cut = max(1, base.count - Int(rng.next() % UInt64(min(8, base.count))))
            return Array(base.prefix(cut)) + [Int(100 + rng.next() % 4000)]
        }
    }()

    static let greedy = SamplingParams(temperature: 0, maxTokens: 24, ignoreEOS: true)

    @Test func batchedEqualsAlone() throws {
        let batched = try Self.run(Self.engine(), Self.prompts, Self.greedy)
        let aloneEngine = try Self.engine { $0.maxNumSeqs = 1; $0.enablePrefixCaching = false }
        for (i, p) in Self.prompts.enumerated() {
            #expect(try Self.run(aloneEngine, [p], Self.greedy)[0] == batched[i], "prompt \(i)")
        }
    }

    @Test func preemptionDoesNotChangeOutputs() throws {
        let prompts = Array(Self.prompts.prefix(16))
        let params = SamplingParams(temperature: 0, maxTokens: 40, ignoreEOS: true)
        let big = try Self.run(Self.engine(), prompts, params)
        let tiny = try Self.engine { $0.numGpuBlocksOverride = 48; $0.maxModelLen = 700 }
        let small = try Self.run(tiny, prompts, params)
        #expect(tiny.stats.numPreemptions > 0)
        #expect(small == big)
        #expect(tiny.stats.kvBlocksUsed == 0)
    }

    @Test func chunkedPrefillMatchesUnchunked() throws {
        var rng = SplitMix64(seed: 9)
        let prompt = (0..<1500).map { _ in Int(100 + rng.next() % 40000) }
        let params = SamplingParams(temperature: 0, maxTokens: 16, ignoreEOS: true)
        let chunked = try Self.engine { $0.maxNumBatchedTokens = 256 }
        let whole = try Self.engine { $0.maxNumBatchedTokens = 2048 }
        #expect(try Self.run(chunked, [prompt], params) == Self.run(whole, [prompt], params))
    }

    @Test func prefixCachingReusesBlocksAndKeepsOutputs() throws {
        let shared = Self.prompts[11] + Self.prompts[3] + Self.prompts[7]  // a few hundred tokens
        let a = shared + [4093, 198], b = shared + [905, 28, 2899]
        let params = SamplingParams(temperature: 0, maxTokens: 16, ignoreEOS: true)
        let cached = try Self.engine()
        let outA = try Self.run(cached, [a], params)
        let hitsBefore = cached.stats.prefixCacheHits
        let outB = try Self.run(cached, [b], params)
        let hits = cached.stats.prefixCacheHits - hitsBefore
        // Every full block of the shared prefix is reused; only the tail is computed.
        #expect(hits == shared.count / 16 * 16)
        let uncached = try Self.engine { $0.enablePrefixCaching = false }
        #expect(try Self.run(uncached, [a], params) == outA)
        #expect(try Self.run(uncached, [b], params) == outB)
        #expect(uncached.stats.prefixCacheHits == 0)
    }

    @Test func stopStringsTokenIDsAndBadRequests() throws {
        let e = try Self.engine()
        let chat = Self.tokenizer.encode("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
        try e.addRequest(id: "s", prompt: .tokenIDs(chat), params: SamplingParams(temperature: 0, maxTokens: 64, stop: [" of"]))
        var out: RequestOutput?
        while e.hasUnfinishedRequests { for o in e.step() { out = o } }
        #expect(out?.outputs[0].text == "The capital")
        #expect(out?.outputs[0].finishReason == "stop" && out?.outputs[0].stopReason == " of")
        #expect(e.stats.kvBlocksUsed == 0)
        #expect(throws: InvalidRequest.emptyPrompt) { try e.addRequest(id: "x", prompt: .tokenIDs([]), params: SamplingParams()) }
        #expect(throws: InvalidRequest.self) { try e.addRequest(id: "y", prompt: .tokenIDs([1]), params: SamplingParams(maxTokens: 9000)) }
        #expect(throws: InvalidRequest.tokenOutOfRange(-1, vocabSize: 49152)) {
            try e.addRequest(id: "z", prompt: .tokenIDs([-1]), params: SamplingParams())
        }
    }

    @Test func parallelSamplingGivesNCompletions() throws {
        let e = try Self.engine()
        try e.addRequest(id: "n", prompt: .text("Once upon a time"), params: SamplingParams(temperature: 1, maxTokens: 12, seed: 3, ignoreEOS: true, n: 3))
        var out: RequestOutput?
        while e.hasUnfinishedRequests { for o in e.step() { out = o } }
        #expect(out?.outputs.map(\.index) == [0, 1, 2])
        #expect(out?.outputs.allSatisfy { $0.tokenIDs.count == 12 } == true)
        #expect(Set(out!.outputs.map(\.tokenIDs)).count > 1)
    }
}
