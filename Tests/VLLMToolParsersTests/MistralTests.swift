import Testing
@testable import VLLMToolParsers

let mistralCases: [Case] = [
    Case(label: "array form", output: #"[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]"#,
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: nil),
    Case(label: "array form, content before, parallel calls",
         output: #"Sure, checking both. [TOOL_CALLS] [{"name":"a","arguments":{"x":1}}, {"name": "b", "arguments": {"s": "t"}}]"#,
         calls: [("a", #"{"x": 1}"#), ("b", #"{"s": "t"}"#)], content: "Sure, checking both. "),
    Case(label: "array form without arguments", output: #"[TOOL_CALLS][{"name": "get_time"}]"#,
         calls: [("get_time", "{}")], content: nil),
    Case(label: "array form, nested and unicode",
         output: #"[TOOL_CALLS][{"name": "note", "arguments": {"title": "Café ☕", "items": [{"k": [1, {"z": null}]}], "ok": false}}]"#,
         calls: [("note", #"{"title": "Café ☕", "items": [{"k": [1, {"z": null}]}], "ok": false}"#)], content: nil),
    Case(label: "v11 form with [ARGS]", output: #"[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}"#,
         calls: [("get_weather", #"{"city": "Paris"}"#)], content: nil),
    Case(label: "v11 form without [ARGS]", output: #"[TOOL_CALLS]add{"a": 3.5, "b": 4}"#,
         calls: [("add", #"{"a": 3.5, "b": 4}"#)], content: nil),
    Case(label: "v11 form, parallel calls and content",
         output: #"Let me add and multiply.[TOOL_CALLS]add[ARGS]{"a":1,"b":2}[TOOL_CALLS]multiply[ARGS]{"x": "δ", "y": [2]}"#,
         calls: [("add", #"{"a": 1, "b": 2}"#), ("multiply", #"{"x": "δ", "y": [2]}"#)], content: "Let me add and multiply."),
    Case(label: "no tool call", output: "Paris is the capital of France. [1] [citation]",
         calls: [], content: "Paris is the capital of France. [1] [citation]"),
    Case(label: "half the token is text", output: "Hello [TOOL_", calls: [], content: "Hello [TOOL_"),
    Case(label: "token followed by prose is text", output: "[TOOL_CALLS]not a call", calls: [], content: "[TOOL_CALLS]not a call"),
    Case(label: "token alone is text", output: "Hi[TOOL_CALLS]", calls: [], content: "Hi[TOOL_CALLS]"),
    Case(label: "empty array is text", output: "[TOOL_CALLS][]", calls: [], content: "[TOOL_CALLS][]"),
    Case(label: "malformed array element is text", output: #"[TOOL_CALLS][{"name": 1, "arguments": {}}]"#,
         calls: [], content: #"[TOOL_CALLS][{"name": 1, "arguments": {}}]"#),
    Case(label: "v11 arguments must be an object", output: #"[TOOL_CALLS]f[ARGS]"x""#, calls: [], content: #"[TOOL_CALLS]f[ARGS]"x""#),
    Case(label: "text after the array is dropped", output: #"[TOOL_CALLS][{"name": "f", "arguments": {}}] done"#,
         calls: [("f", "{}")], content: nil),
    Case(label: "truncated v11 arguments", output: #"[TOOL_CALLS]get_weather[ARGS]{"city": "Par"#,
         calls: [("get_weather", #"{"city": "Par"}"#)], content: nil),
    Case(label: "truncated array form", output: #"[TOOL_CALLS][{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": [tr"#,
         calls: [("a", #"{"x": 1}"#), ("b", #"{"y": []}"#)], content: nil),
]

@Suite struct MistralTests {
    let parser = ToolParser.mistral

    @Test(arguments: mistralCases)
    func nonStreamed(_ c: Case) {
        #expect(Result(parser.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: mistralCases)
    func streamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(parser, c.output, seed: 3)
    }

    @Test(arguments: mistralCases)
    func everyPrefix(_ c: Case) {
        checkEveryPrefix(parser, c.output)
    }

    @Test(arguments: mistralCases.filter(\.oracle))
    func argumentsAreCanonical(_ c: Case) throws {
        for (_, arguments) in c.calls { #expect(try redumped(arguments) == arguments) }
    }

    @Test func idsAreNineAlphanumerics() {
        let calls = parser.extractToolCalls(modelOutput: mistralCases[1].output).toolCalls
        #expect(calls.count == 2)
        for call in calls {
            #expect(call.id.count == 9)
            #expect(call.id.unicodeScalars.allSatisfy { $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) })
        }
    }

    @Test func keepsSpecialTokens() {
        #expect(parser.needsSpecialTokens)
        #expect(!ToolParser.hermes.needsSpecialTokens)
    }
}
