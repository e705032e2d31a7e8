import Testing
@testable import VLLMToolParsers

@Suite struct ReasoningParserTests {
    typealias Split = (reasoning: String?, content: String?)

    static func same(_ a: Split, _ b: Split) -> Bool { a.reasoning == b.reasoning && a.content == b.content }

    @Test func deepseekR1ReadsReasoningUntilTheEndTag() {
        let p = ReasoningParser.deepseekR1
        #expect(Self.same(p.extract("<think>plan it</think>The answer."), ("plan it", "The answer.")))
        // The template opened <think>: the output starts inside the reasoning.
        #expect(Self.same(p.extract("plan it</think>The answer."), ("plan it", "The answer.")))
        #expect(Self.same(p.extract("cut off while thinking"), ("cut off while thinking", nil)))
        #expect(Self.same(p.extract("all thought</think>"), ("all thought", nil)))
    }

    @Test func qwen3NeedsBothTags() {
        let p = ReasoningParser.qwen3
        #expect(Self.same(p.extract("<think>plan</think>\n\nanswer"), ("plan", "\n\nanswer")))
        #expect(Self.same(p.extract("just an answer"), (nil, "just an answer")))
        #expect(Self.same(p.extract("<think>cut off"), (nil, "<think>cut off")))
        #expect(Self.same(p.extract("no start</think>answer"), (nil, "no start</think>answer")))
    }

    /// Streamed in any pieces, the deltas add up to the split (tags never sent, a tag cut across
    /// pieces still recognized, text that only looks like a tag's start sent as text).
    struct StreamCase: Sendable, CustomTestStringConvertible {
        var parser: String, output: String, reasoning: String, content: String
        var testDescription: String { "\(parser): \(output)" }
    }

    @Test(arguments: [
        StreamCase(parser: "deepseek_r1", output: "<think>x <y </thin</think> ans </thi", reasoning: "x <y </thin", content: " ans </thi"),
        StreamCase(parser: "deepseek_r1", output: "<thought> a</think>b", reasoning: "<thought> a", content: "b"),
        StreamCase(parser: "deepseek_r1", output: "<thin", reasoning: "<thin", content: ""),
        StreamCase(parser: "deepseek_r1", output: "ü</think>", reasoning: "ü", content: ""),
        StreamCase(parser: "qwen3", output: "<think>r1 </think\n</think>\nA <think>", reasoning: "r1 </think\n", content: "\nA <think>"),
        StreamCase(parser: "qwen3", output: "no tags < here", reasoning: "", content: "no tags < here"),
    ])
    func streamAddsUpWhereverCut(_ c: StreamCase) {
        let (parser, output, reasoning, content) = (ReasoningParser.parsers[c.parser]!, c.output, c.reasoning, c.content)
        let n = output.unicodeScalars.count
        var cutsList: [[Int]] = (0...n).map { $0 == 0 || $0 == n ? [] : [$0] }
        cutsList.append(n > 1 ? Array(1..<n) : [])
        for cuts in cutsList {
            let stream = parser.makeStream()
            var r = "", t = ""
            for piece in pieces(output, cuts: cuts) {
                let d = stream.feed(piece)
                r += d.reasoning ?? ""
                t += d.content ?? ""
            }
            let d = stream.finish()
            r += d.reasoning ?? ""
            t += d.content ?? ""
            #expect(r == reasoning && t == content, "cuts \(cuts): \(r) | \(t)")
        }
    }
}
