import Testing
@testable import VLLMToolParsers

let requiredCases: [Case] = [
    Case(label: "one call", output: #"[{"name": "get_weather", "parameters": {"city":"Paris"}}]"#,
         calls: [("get_weather", #"{"city": "Paris"}"#)], content: nil),
    Case(label: "two calls, any whitespace", output: "  [ {\"name\":\"a\",\"parameters\":{\"x\":[1,2.5e3,null]}} ,\n{\"name\": \"b\", \"parameters\": {}}]",
         calls: [("a", #"{"x": [1, 2500.0, null]}"#), ("b", "{}")], content: nil),
    Case(label: "non-ASCII and escapes", output: #"[{"name": "note", "parameters": {"text": "ü \"q\" \u00e9"}}]"#,
         calls: [("note", #"{"text": "ü \"q\" é"}"#)], content: nil),
]

@Suite struct ForcedToolCallsTests {
    @Test(arguments: requiredCases)
    func requiredNonStreamed(_ c: Case) {
        #expect(Result(ToolParser.requiredCalls.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: requiredCases)
    func requiredStreamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(.requiredCalls, c.output, seed: 9)
    }

    /// Cut by max_tokens anywhere: the calls announced so far are the full output's, with
    /// arguments completed into JSON, and streaming gives the same.
    @Test func requiredCutAnywhere() {
        let output = requiredCases[1].output
        let full = Result(ToolParser.requiredCalls.extractToolCalls(modelOutput: output))
        let scalars = Array(output.unicodeScalars)
        for end in 0...scalars.count {
            let prefix = String(String.UnicodeScalarView(scalars[0..<end]))
            let result = Result(ToolParser.requiredCalls.extractToolCalls(modelOutput: prefix))
            #expect(result.content == nil, "prefix \(end): no content")
            #expect(streamed(.requiredCalls, pieces(prefix, cuts: end > 1 ? Array(1..<end) : [])) == result, "prefix \(end)")
            #expect(Array(full.calls.map(\.name).prefix(result.calls.count)) == result.calls.map(\.name), "prefix \(end)")
            for call in result.calls { #expect(isJSON(call.arguments), "prefix \(end): \(call.arguments)") }
        }
    }

    @Test func namedCallIsTheOutputAsGenerated() {
        let output = "{ \"city\" :\"Paris\",\n \"days\": 3 }"
        let parser = ToolParser.namedCall("get_weather")
        #expect(Result(parser.extractToolCalls(modelOutput: output)) == Result(calls: [("get_weather", output)]))
        checkStreamingMatches(parser, output, seed: 3)
        // Nothing generated (max_tokens 0): still one call, with an empty object.
        #expect(Result(parser.extractToolCalls(modelOutput: "")) == Result(calls: [("get_weather", "{}")]))
    }
}
