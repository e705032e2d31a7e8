import Testing
@testable import VLLMToolParsers

let pythonicCases: [Case] = [
    Case(label: "single call", output: #"[get_weather(city="San Francisco", metric='celsius')]"#,
         calls: [("get_weather", #"{"city": "San Francisco", "metric": "celsius"}"#)], content: nil),
    Case(label: "parallel calls with literals",
         output: #"[register_user(name="John", age=37, address={'city': 'San Francisco', "state": "CA"}, role=None, passed_test=True, aliases=['John', "Johnny"]), get_weather(city="Paris")]"#,
         calls: [("register_user", #"{"name": "John", "age": 37, "address": {"city": "San Francisco", "state": "CA"}, "role": null, "passed_test": true, "aliases": ["John", "Johnny"]}"#),
                 ("get_weather", #"{"city": "Paris"}"#)], content: nil),
    Case(label: "no arguments", output: "[get_time()]", calls: [("get_time", "{}")], content: nil),
    Case(label: "numbers", output: "[f(a=-1, b=2.50, c=1e3, d=1_000, e=.5, f=0)]",
         calls: [("f", #"{"a": -1, "b": 2.5, "c": 1000.0, "d": 1000, "e": 0.5, "f": 0}"#)], content: nil),
    Case(label: "string escapes", output: #"[f(s='it\'s "x"\n', u="caf\u00e9 \x41", t='tab\there')]"#,
         calls: [("f", #"{"s": "it's \"x\"\n", "u": "café A", "t": "tab\there"}"#)], content: nil),
    Case(label: "unicode", output: #"[search(q="東京 天気 🌧", lang='日本語')]"#,
         calls: [("search", #"{"q": "東京 天気 🌧", "lang": "日本語"}"#)], content: nil),
    Case(label: "nested lists and dicts", output: #"[f(items=[{"a": 1}, {"b": [True, False]}], empty={}, none=[])]"#,
         calls: [("f", #"{"items": [{"a": 1}, {"b": [true, false]}], "empty": {}, "none": []}"#)], content: nil),
    Case(label: "trailing commas and spaces", output: "  [ f(a=1, b = 'x',) , g() , ]\n",
         calls: [("f", #"{"a": 1, "b": "x"}"#), ("g", "{}")], content: nil),
    Case(label: "plain text", output: "I can't call tools for that.", calls: [], content: "I can't call tools for that."),
    Case(label: "a list of numbers is text", output: "[1, 2, 3] are the first numbers", calls: [], content: "[1, 2, 3] are the first numbers"),
    Case(label: "empty list is text", output: "[]", calls: [], content: "[]"),
    Case(label: "bracketed prose is text", output: "[Note] this is prose", calls: [], content: "[Note] this is prose"),
    Case(label: "a dotted name is text", output: "[os.remove(path='/')]", calls: [], content: "[os.remove(path='/')]"),
    Case(label: "positional argument ends the call", output: "[f(1, a=2)]", calls: [("f", "{}")], content: nil),
    Case(label: "a tuple ends the call", output: "[f(a=1, b=(1, 2))]", calls: [("f", #"{"a": 1}"#)], content: nil),
    Case(label: "text after the list is dropped", output: "[f(a=1)] That's all.", calls: [("f", #"{"a": 1}"#)], content: nil),
    Case(label: "truncated in a string", output: #"[get_weather(city="Par"#, calls: [("get_weather", #"{"city": "Par"}"#)], content: nil),
    Case(label: "truncated in the name is text", output: "[get_wea", calls: [], content: "[get_wea"),
]

@Suite struct PythonicTests {
    let parser = ToolParser.pythonic

    @Test(arguments: pythonicCases)
    func nonStreamed(_ c: Case) {
        #expect(Result(parser.extractToolCalls(modelOutput: c.output)) == c.expected)
    }

    @Test(arguments: pythonicCases)
    func streamedEqualsNonStreamed(_ c: Case) {
        checkStreamingMatches(parser, c.output, seed: 4)
    }

    @Test(arguments: pythonicCases)
    func everyPrefix(_ c: Case) {
        checkEveryPrefix(parser, c.output)
    }

    @Test(arguments: pythonicCases.filter(\.oracle))
    func argumentsAreCanonical(_ c: Case) throws {
        for (_, arguments) in c.calls { #expect(try redumped(arguments) == arguments) }
    }
}
