import Testing
import VLLMTestSupport
import VLLMCompute
import VLLMModels
import VLLMTokenizers
@testable import VLLMEngine

@Suite(.serialized) struct SequenceGeneratorTests {
    static let generator: SequenceGenerator = {
        let gguf = try! GGUFFile(path: TestPaths.defaultModel)
        return SequenceGenerator(model: try! LlamaModel(gguf: gguf, pool: ThreadPool()), tokenizer: try! Tokenizer(gguf: gguf))
    }()

    static let chatPrompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"

    @Test func greedyChatStopsAtEOSWithTextMatchingTokens() throws {
        let g = Self.generator
        let ids = g.tokenizer.encode(Self.chatPrompt)
        var streamed = ""
        let out = try g.generate(promptTokenIDs: ids, params: SamplingParams(temperature: 0, maxTokens: 64)) { streamed += $0 }
        let o = out.outputs[0]
        #expect(o.finishReason == "stop")
        #expect(o.tokenIDs.last == g.tokenizer.eosTokenID)
        #expect(o.text == g.tokenizer.decode(o.tokenIDs))
        #expect(streamed == o.text)
        #expect(o.text.contains("Paris"))
    }

    @Test func ignoreEOSRunsToMaxTokensAndLogprobsHaveKPlusChosen() throws {
        let g = Self.generator
        let ids = g.tokenizer.encode(Self.chatPrompt)
        let out = try g.generate(promptTokenIDs: ids, params: SamplingParams(temperature: 0, maxTokens: 40, ignoreEOS: true, logprobs: 3))
        let o = out.outputs[0]
        #expect(o.finishReason == "length" && o.tokenIDs.count == 40)
        #expect(o.logprobs?.count == 40)
        for (step, lp) in (o.logprobs ?? []).enumerated() {
            #expect(lp.count == 4 && lp[0].tokenID == o.tokenIDs[step])
            // Greedy: the chosen token is the most likely one.
            #expect(lp[0].tokenID == lp[1].tokenID)
        }
    }

    @Test func seededSamplingIsReproducible() throws {
        let g = Self.generator
        let ids = g.tokenizer.encode("Once upon a time")
        let p = SamplingParams(temperature: 0.8, maxTokens: 20, seed: 1234, ignoreEOS: true)
        #expect(try g.generate(promptTokenIDs: ids, params: p).outputs[0].tokenIDs
                == g.generate(promptTokenIDs: ids, params: p).outputs[0].tokenIDs)
    }

    @Test func badRequestsAreErrorsNotCrashes() {
        let g = Self.generator
        #expect(throws: GenerationError.emptyPrompt) { try g.generate(promptTokenIDs: [], params: SamplingParams()) }
        #expect(throws: GenerationError.tokenOutOfRange(49152, vocabSize: 49152)) {
            try g.generate(promptTokenIDs: [1, 49152], params: SamplingParams())
        }
        #expect(throws: GenerationError.self) { try g.generate(promptTokenIDs: [1], params: SamplingParams(maxTokens: 9000)) }
        #expect(throws: SamplingParamsError.self) { try g.generate(promptTokenIDs: [1], params: SamplingParams(temperature: -1)) }
    }
}
