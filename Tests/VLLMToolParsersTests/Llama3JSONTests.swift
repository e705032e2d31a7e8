import Testing
@testable import VLLMToolParsers

let llamaCases: [Case] = [
    Case(label: "single call with parameters", output: #"{"name": "get_weather", "parameters": {"city": "San Francisco", "days": 3}}"#,
         calls: [("get_weather", #"{"city": "San Francisco", "days": 3}"#)], content: nil),
    Case(label: "arguments key", output: #"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
         calls: [("get_weather", #"{"city": "Paris"}"#)], content: nil),
    Case(label: "python tag", output: #"<|python_tag|>{"name": "search", "parameters": {"query": "vLLM"}}"#,
         calls: [("search", #"{"query": "vLLM"}"#)], content: nil),
    Case(label: "python tag then space", output: "<|python_tag|> \n{\"name\": \"search\", \"parameters\": {}}",
         calls: [("search", "{}")], content: nil),
    Case(label: "parallel calls joined by semicolons",
         output: #"{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"y": [true, null]}};{"name": "c", "parameters": {}}"#,
         calls: [("a", #"{"x": 1}"#), ("b", #"{"y": [true, null]}"#), ("c", "{}")], content: nil),
    Case(label: "leading whitespace", output: "\n\n  {\"name\": \"f\", \"parameters\": {\"k\": \"v\"}}",
         calls: [("f", #"{"k": "v"}"#)], content: nil),
    Case(label: "unicode arguments", output: #"{"name": "translate", "parameters": {"text": "こんにちは", "to": "Ελληνικά", "e": "\u2603"}}"#,
         calls: [("translate", #"{"text": "こんにちは", "to": "Ελληνικά", "e": "☃"}"#)], content: nil),
    Case(label: "nested arguments",
         output: #"{"name": "book", "parameters": {"trip": {"legs": [{"from": "SFO", "to": "JFK", "stops": 0}], "price": {"max": 499.99}}}}"#,
         calls: [("book", #"{"trip": {"legs": [{"from": "SFO", "to": "JFK", "stops": 0}], "price": {"max": 499.99}}}"#)], content: nil),
    Case(label: "plain text", output: "The capital of France is Paris.", calls: [], content: "The capital of France is Paris."),
    Case(label: "whitespace only", output: "  \n", calls: [], content: "  \n"),
    Case(label: "JSON that is not a call", output: #"{"answer": 42}"#, calls: [], content: #"{"answer": 42}"#),
    Case(label: "text before JSON stays text", output: #"Here you go: {"name": "f", "parameters": {}}"#,
         calls: [], content: #"Here you go: {"name": "f", "parameters": {}}"#),
    Case(label: "python tag with code is text", output: #"<|python_tag|>brave_search.call(query="weather")"#,
         calls: [], content: #"<|python_tag|>brave_search.call(query="weather")"#),
    Case(label: "half a tag is text", output: "<|python", calls: [], content: "<|python"),
    Case(label: "malformed before the arguments is text", output: #"{"name": "f" "parameters": {}}"#,
         calls: [], content: #"{"name": "f" "parameters": {}}"#),
    Case(label: "malformed arguments end the call", output: #"{"name": "f", "parameters": {"a": "x", "b": tru}}"#,
         calls: [("f", #"{"a": "x"}"#)], content: nil),
    Case(label: "both parameters and arguments: the first wins",
         output: #"{"name": "f", "parameters": {"a": 1}, "arguments": {"b": 2}}"#, calls: [("f", #"{"a": 1}"#)], content: nil),
    Case(label: "text after the calls is dropped", output: #"{"name": "f", "parameters": {}} and then some text"#,
         calls: [("f", "{}")], content: nil),
    Case(label: "truncated in the second call",
         output: #"{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"list": [1, 2, 3.2"#,
         calls: [("a", #"{"x": 1}"#), ("b", #"{"list": [1, 2, 3.2]}"#)], content: nil),
    Case(label: "truncated in a number that is not finished", output: #"{"name": "a", "parameters": {"x": 1, "y": 2."#,
         calls: [("a", #"{"x": 1}"#)], content: nil),
]

@Suite struct Llama3JSONTests {
    let parser = ToolParser.llama3JSON

    @Test(arguments: llamaCases)
    func nonStreamed(_ c: Case) {
        #expect(Result(parser.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: llamaCases)
    func streamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(parser, c.output, seed: 2)
    }

    @Test(arguments: llamaCases)
    func everyPrefix(_ c: Case) {
        checkEveryPrefix(parser, c.output)
    }

    @Test(arguments: llamaCases.filter(\.oracle))
    func argumentsAreCanonical(_ c: Case) throws {
        for (_, arguments) in c.calls { #expect(try redumped(arguments) == arguments) }
    }
}
