import Testing
@testable import VLLMToolParsers

private let weather = #"{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}"#

let hermesCases: [Case] = [
    Case(label: "single call", output: "<tool_call>\n\(weather)\n</tool_call>",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: nil),
    Case(label: "content before the call", output: "Let me check the weather for you.\n<tool_call>\n\(weather)\n</tool_call>",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: "Let me check the weather for you.\n"),
    Case(label: "parallel calls",
         output: "<tool_call>\n\(weather)\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}\n</tool_call>",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#), ("get_time", #"{"timezone": "Europe/Paris"}"#)], content: nil),
    Case(label: "compact JSON is respaced", output: #"<tool_call>{"name":"f","arguments":{"a":1,"b":[1,2,{"c":null}],"d":true}}</tool_call>"#,
         calls: [("f", #"{"a": 1, "b": [1, 2, {"c": null}], "d": true}"#)], content: nil),
    Case(label: "unicode arguments",
         output: #"<tool_call>{"name": "translate", "arguments": {"text": "Zürich — 天气 🌤", "escaped": "\u00e9t\u00e9 \ud83d\ude00"}}</tool_call>"#,
         calls: [("translate", #"{"text": "Zürich — 天气 🌤", "escaped": "été 😀"}"#)], content: nil),
    Case(label: "nested arguments",
         output: #"<tool_call>{"name": "create_event", "arguments": {"event": {"title": "Standup", "attendees": [{"name": "Ann", "optional": false}, {"name": "Bo", "optional": true}], "meta": {}}, "tags": []}}</tool_call>"#,
         calls: [("create_event", #"{"event": {"title": "Standup", "attendees": [{"name": "Ann", "optional": false}, {"name": "Bo", "optional": true}], "meta": {}}, "tags": []}"#)],
         content: nil),
    Case(label: "numbers as Python writes them",
         output: #"<tool_call>{"name": "calc", "arguments": {"a": 1.0, "b": 2.50, "c": 1e-7, "d": 1E+2, "e": -0, "f": 0.1, "g": -12}}</tool_call>"#,
         calls: [("calc", #"{"a": 1.0, "b": 2.5, "c": 1e-07, "d": 100.0, "e": 0, "f": 0.1, "g": -12}"#)], content: nil),
    Case(label: "integers beyond 64 bits keep their digits",
         output: #"<tool_call>{"name": "calc", "arguments": {"n": 123456789012345678901234567890}}</tool_call>"#,
         calls: [("calc", #"{"n": 123456789012345678901234567890}"#)], content: nil, oracle: false),
    Case(label: "string escapes",
         output: #"<tool_call>{"name": "write", "arguments": {"text": "line1\nline2 \"quoted\" back\\slash \/ tab\t"}}</tool_call>"#,
         calls: [("write", #"{"text": "line1\nline2 \"quoted\" back\\slash / tab\t"}"#)], content: nil),
    Case(label: "raw newline inside a string is escaped",
         output: "<tool_call>{\"name\": \"write\", \"arguments\": {\"code\": \"def f():\n    return 1\"}}</tool_call>",
         calls: [("write", #"{"code": "def f():\n    return 1"}"#)], content: nil),
    Case(label: "arguments before name", output: #"<tool_call>{"arguments": {"x": 1}, "name": "f"}</tool_call>"#,
         calls: [("f", #"{"x": 1}"#)], content: nil),
    Case(label: "extra members are ignored", output: #"<tool_call>{"id": 7, "name": "f", "arguments": {"x": [1]}, "type": "function"}</tool_call>"#,
         calls: [("f", #"{"x": [1]}"#)], content: nil),
    Case(label: "empty arguments", output: #"<tool_call>{"name": "get_time", "arguments": {}}</tool_call>"#,
         calls: [("get_time", "{}")], content: nil),
    Case(label: "stringified arguments stay a string", output: #"<tool_call>{"name": "f", "arguments": "{\"a\": 1}"}</tool_call>"#,
         calls: [("f", #""{\"a\": 1}""#)], content: nil),
    Case(label: "end tag inside an argument string", output: #"<tool_call>{"name": "html", "arguments": {"s": "</tool_call>"}}</tool_call>"#,
         calls: [("html", #"{"s": "</tool_call>"}"#)], content: nil),
    Case(label: "no tool call", output: "The weather in Paris is sunny, 21°C. <b>Enjoy</b> {not json}",
         calls: [], content: "The weather in Paris is sunny, 21°C. <b>Enjoy</b> {not json}"),
    Case(label: "empty output", output: "", calls: [], content: nil),
    Case(label: "half a tag at the end is text", output: "Hello <tool_", calls: [], content: "Hello <tool_"),
    Case(label: "malformed JSON is text", output: "Sure.\n<tool_call>\n{\"name\": get_weather}\n</tool_call>",
         calls: [], content: "Sure.\n<tool_call>\n{\"name\": get_weather}\n</tool_call>"),
    Case(label: "not JSON at all is text", output: "<tool_call>not json</tool_call>", calls: [], content: "<tool_call>not json</tool_call>"),
    Case(label: "a call without arguments is text", output: #"<tool_call>{"name": "f"}</tool_call>"#,
         calls: [], content: #"<tool_call>{"name": "f"}</tool_call>"#),
    Case(label: "a name that is not a string is text", output: #"<tool_call>{"name": 3, "arguments": {}}</tool_call>"#,
         calls: [], content: #"<tool_call>{"name": 3, "arguments": {}}</tool_call>"#),
    Case(label: "an empty name is text", output: #"<tool_call>{"name": "", "arguments": {"a": 1}}</tool_call>"#,
         calls: [], content: #"<tool_call>{"name": "", "arguments": {"a": 1}}</tool_call>"#),
    Case(label: "false start, then a call",
         output: "<tool_call>oops</tool_call>\n<tool_call>\(weather)</tool_call>",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: "<tool_call>oops</tool_call>\n"),
    Case(label: "a broken second call is dropped",
         output: "<tool_call>\(weather)</tool_call>\n<tool_call>{oops}</tool_call>",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: nil),
    Case(label: "missing closing brace still closes the call",
         output: "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>", calls: [("f", #"{"a": 1}"#)], content: nil),
    Case(label: "text after the calls is dropped", output: "<tool_call>\(weather)</tool_call>\nI called the tool.",
         calls: [("get_weather", #"{"city": "Paris", "unit": "celsius"}"#)], content: nil),
    Case(label: "no closing tag", output: #"<tool_call>{"name": "f", "arguments": {"q": "x"}}"#, calls: [("f", #"{"q": "x"}"#)], content: nil),
    Case(label: "truncated inside a string argument", output: #"<tool_call>{"name": "search", "arguments": {"query": "weather in Par"#,
         calls: [("search", #"{"query": "weather in Par"}"#)], content: nil),
    Case(label: "truncated after a key", output: #"<tool_call>{"name": "f", "arguments": {"a": [1, 2], "b"#,
         calls: [("f", #"{"a": [1, 2]}"#)], content: nil),
    Case(label: "truncated inside the name is text", output: "Sure.<tool_call>\n{\"name\": \"get_wea",
         calls: [], content: "Sure.<tool_call>\n{\"name\": \"get_wea"),
    Case(label: "malformed arguments after the name end the call",
         output: #"<tool_call>{"name": "f", "arguments": {"a": 1, "b": }}</tool_call>"#, calls: [("f", #"{"a": 1}"#)], content: nil),
]

@Suite struct HermesTests {
    let parser = ToolParser.hermes

    @Test(arguments: hermesCases)
    func nonStreamed(_ c: Case) {
        #expect(Result(parser.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: hermesCases)
    func streamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(parser, c.output)
    }

    @Test(arguments: hermesCases)
    func everyPrefix(_ c: Case) {
        checkEveryPrefix(parser, c.output)
    }

    @Test(arguments: hermesCases.filter(\.oracle))
    func argumentsAreCanonical(_ c: Case) throws {
        for (_, arguments) in c.calls { #expect(try redumped(arguments) == arguments) }
    }

    @Test func idsAreFreshPerCall() {
        let calls = parser.extractToolCalls(modelOutput: hermesCases[2].output).toolCalls
        #expect(calls.count == 2)
        #expect(Set(calls.map(\.id)).count == 2)
    }
}
