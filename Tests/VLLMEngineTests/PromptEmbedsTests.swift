import Foundation
import Testing
import VLLM
import VLLMTestSupport
@testable import VLLMModels

/// Prompts given as input embeddings (vLLM's `prompt_embeds`): the model's own embeddings of a
/// prompt's tokens give what the tokens give; prefix caching keys on the embeddings, not on
/// their placeholder tokens; what vLLM refuses is refused.
@Suite(.serialized) struct PromptEmbedsTests {
    static func engine(_ arch: String, enabled: Bool = true) throws -> (LLMEngine, DecoderModel) {
        var args = EngineArgs()
        args.kvCacheMemory = 8 << 20
        args.maxModelLen = 256
        args.blockSize = 4
        args.threads = 2
        args.enablePromptEmbeds = enabled
        let dir = TestPaths.tinyModels.appendingPathComponent("\(arch)/hf").path
        let model = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 2), maxBatchTokens: 64)
        return (try LLMEngine(model: model, tokenizer: Tokenizer(directory: dir), args: args), model)
    }

    static func run(_ engine: LLMEngine, _ prompts: [PromptInput], _ params: SamplingParams) throws -> [CompletionOutput] {
        for (i, p) in prompts.enumerated() { try engine.addRequest(id: "r\(i)", prompt: p, params: params) }
        var done: [String: CompletionOutput] = [:]
        while engine.hasUnfinishedRequests {
            for out in engine.step() where out.finished { done[out.requestID] = out.outputs[0] }
        }
        return prompts.indices.map { done["r\($0)"]! }
    }

    static let params = SamplingParams(temperature: 0, maxTokens: 12, ignoreEOS: true, logprobs: 2)

    /// Gemma 2 scales its embedding rows by √hidden; Qwen2 does not.
    @Test(arguments: ["qwen2", "gemma2"])
    func embeddingsOfThePromptGiveThePromptsOutput(arch: String) throws {
        let (engine, model) = try Self.engine(arch)
        let prompts = [[5, 17, 42, 99, 3, 250, 7], Array(10..<40)]
        let byTokens = try Self.run(engine, prompts.map { .tokenIDs($0) }, Self.params)
        let byEmbeds = try Self.run(engine, prompts.map { .embeddings(model.inputEmbeddings(of: $0)!) }, Self.params)
        for (a, b) in zip(byTokens, byEmbeds) {
            #expect(a.tokenIDs == b.tokenIDs, "\(arch)")
            let gap = zip(a.logprobs!, b.logprobs!).map { abs($0[0].logprob - $1[0].logprob) }.max()!
            #expect(gap < 1e-4, "\(arch): logprob gap \(gap)")
        }
    }

    @Test func prefixCachingKeysOnTheEmbeddings() throws {
        let (engine, model) = try Self.engine("qwen2")
        let tokens = Array(20..<60)
        let e = model.inputEmbeddings(of: tokens)!
        let first = try Self.run(engine, [.embeddings(e)], Self.params)[0]
        let hitsBefore = engine.stats.prefixCacheHits
        let again = try Self.run(engine, [.embeddings(e)], Self.params)[0]
        #expect(again.tokenIDs == first.tokenIDs)
        #expect(engine.stats.prefixCacheHits - hitsBefore >= 36, "the same embeddings reuse their cached blocks")
        // Other embeddings with the same placeholder tokens must not hit those blocks.
        var other = e.values
        for i in other.indices { other[i] = -other[i] }
        let hitsBeforeOther = engine.stats.prefixCacheHits
        let different = try Self.run(engine, [.embeddings(PromptEmbeddings(rows: e.rows, hiddenSize: e.hiddenSize, values: other)!)], Self.params)[0]
        #expect(engine.stats.prefixCacheHits == hitsBeforeOther)
        #expect(different.tokenIDs != first.tokenIDs)
        #expect(engine.stats.kvBlocksUsed == 0)
    }

    @Test func whatVLLMRefusesIsRefused() throws {
        let (disabled, model) = try Self.engine("qwen2", enabled: false)
        let e = model.inputEmbeddings(of: [1, 2, 3])!
        #expect(throws: InvalidRequest.badParams("You must set `--enable-prompt-embeds` to input `prompt_embeds`.")) {
            try disabled.addRequest(id: "a", prompt: .embeddings(e), params: Self.params)
        }
        let (engine, _) = try Self.engine("qwen2")
        let narrow = PromptEmbeddings(rows: 2, hiddenSize: 8, values: Array(repeating: 0.5, count: 16))!
        #expect(throws: InvalidRequest.self) { try engine.addRequest(id: "w", prompt: .embeddings(narrow), params: Self.params) }
        var withPromptLogprobs = Self.params
        withPromptLogprobs.promptLogprobs = 1
        #expect(throws: InvalidRequest.self) { try engine.addRequest(id: "p", prompt: .embeddings(e), params: withPromptLogprobs) }
        #expect(PromptEmbeddings(rows: 1, hiddenSize: 2, values: [1, .nan]) == nil)
        #expect(PromptEmbeddings(rows: 2, hiddenSize: 2, values: [1, 2, 3]) == nil)
        #expect(!engine.hasUnfinishedRequests)
    }
}
