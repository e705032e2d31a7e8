import Testing
@testable import VLLMToolParsers

let graniteCases: [Case] = [
    Case(label: "token then array", output: #"<|tool_call|>[{"name": "get_current_weather", "arguments": {"city": "Boston", "state": "MA", "unit": "fahrenheit"}}]"#,
         calls: [("get_current_weather", #"{"city": "Boston", "state": "MA", "unit": "fahrenheit"}"#)], content: nil),
    Case(label: "string tag, parallel calls", output: "<tool_call> [{\"name\": \"a\", \"arguments\": {\"x\": 1}},\n {\"name\": \"b\", \"arguments\": {\"y\": \"ü\"}}]",
         calls: [("a", #"{"x": 1}"#), ("b", #"{"y": "ü"}"#)], content: nil),
    Case(label: "both tags", output: #"<|tool_call|> <tool_call>[{"name": "f", "arguments": {}}]"#, calls: [("f", "{}")], content: nil),
    Case(label: "bare array", output: #"  [{"name": "f", "arguments": {"nested": {"deep": [1, {"x": null}]}}}]"#,
         calls: [("f", #"{"nested": {"deep": [1, {"x": null}]}}"#)], content: nil),
    Case(label: "plain text", output: "Boston is sunny today.", calls: [], content: "Boston is sunny today."),
    Case(label: "text before the tag is text", output: #"Sure <|tool_call|>[{"name": "f", "arguments": {}}]"#,
         calls: [], content: #"Sure <|tool_call|>[{"name": "f", "arguments": {}}]"#),
    Case(label: "missing arguments is text", output: #"<|tool_call|>[{"name": "f"}]"#, calls: [], content: #"<|tool_call|>[{"name": "f"}]"#),
    Case(label: "a list of numbers is text", output: "[1, 2]", calls: [], content: "[1, 2]"),
    Case(label: "the string tag twice is text", output: "<tool_call><tool_call>[]", calls: [], content: "<tool_call><tool_call>[]"),
    Case(label: "truncated", output: #"<|tool_call|>[{"name": "search", "arguments": {"q": "granite mod"#,
         calls: [("search", #"{"q": "granite mod"}"#)], content: nil),
]

@Suite struct GraniteTests {
    let parser = ToolParser.granite

    @Test(arguments: graniteCases)
    func nonStreamed(_ c: Case) {
        #expect(Result(parser.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: graniteCases)
    func streamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(parser, c.output, seed: 5)
    }

    @Test(arguments: graniteCases)
    func everyPrefix(_ c: Case) {
        checkEveryPrefix(parser, c.output)
    }

    @Test(arguments: graniteCases.filter(\.oracle))
    func argumentsAreCanonical(_ c: Case) throws {
        for (_, arguments) in c.calls { #expect(try redumped(arguments) == arguments) }
    }
}
