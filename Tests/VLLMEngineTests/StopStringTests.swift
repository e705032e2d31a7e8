import Testing
@testable import VLLMEngine

/// Stop strings in the output processor, fed one token at a time as the engine core reports
/// them: a stop that spans several tokens, one that ends inside a token, multi-byte UTF-8 on
/// both sides, and `include_stop_str_in_output`.
extension EngineTests {
    /// Feeds `text`'s tokens one by one; returns the final completion and the ids the processor
    /// asked to abort.
    static func stopRun(_ text: String, stop: [String], include: Bool = false) -> (CompletionOutput, [String]) {
        let processor = OutputProcessor(tokenizer: tokenizer)
        processor.addParent(id: "p", promptTokenIDs: [1], childIDs: ["p"])
        processor.addChild(id: "p", parentID: "p", index: 0,
                           params: SamplingParams(maxTokens: 100, stop: stop, includeStopStrInOutput: include))
        var last: CompletionOutput?, aborted: [String] = []
        for token in tokenizer.encode(text, addSpecialTokens: false) {
            let (outputs, abort) = processor.process([EngineCoreOutput(
                requestID: "p", newTokenIDs: [token], newLogprobs: nil, newTokenLogprobs: [0],
                promptLogprobs: nil, finishReason: nil)])
            aborted += abort
            if let o = outputs.first { last = o.outputs[0] }
            if last?.finishReason != nil { break }
        }
        return (last!, aborted)
    }

    @Test func stopStringsAcrossTokensAndMultiByteText() {
        let text = "Olá, 日本語 🙂 mundo! Después del fin."
        // The emoji and the CJK characters are several byte tokens each: the stop spans them.
        #expect(Self.tokenizer.encode("語 🙂 mu", addSpecialTokens: false).count > 2)
        var (out, aborted) = Self.stopRun(text, stop: ["語 🙂 mu"])
        #expect(out.text == "Olá, 日本" && out.finishReason == "stop" && out.stopReason == "語 🙂 mu")
        #expect(aborted == ["p"])

        (out, _) = Self.stopRun(text, stop: ["語 🙂 mu"], include: true)
        #expect(out.text == "Olá, 日本語 🙂 mu")

        // A stop ending inside a token ("mundo") cuts the text there, before a later stop.
        (out, _) = Self.stopRun(text, stop: ["fin", "und"])
        #expect(out.text == "Olá, 日本語 🙂 m" && out.stopReason == "und")

        // No match: the whole text, unfinished.
        (out, aborted) = Self.stopRun(text, stop: ["🚀"])
        #expect(out.text == text && out.finishReason == nil && aborted.isEmpty)
    }
}
