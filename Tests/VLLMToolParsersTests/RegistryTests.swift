import Testing
@testable import VLLMToolParsers

@Suite struct RegistryTests {
    @Test(arguments: ["granite", "hermes", "llama3_json", "llama4_json", "mistral", "openai", "pythonic"])
    func knownNames(_ name: String) throws {
        let parser = try ToolParserRegistry.make(name: name)
        #expect(parser.name == (name == "llama4_json" ? "llama3_json" : name))
    }

    @Test func unknownNameListsTheValidOnes() {
        #expect(throws: ToolParserError.unknownParser("hermes2", validNames: ["granite", "hermes", "llama3_json", "llama4_json", "mistral", "openai", "pythonic"])) {
            try ToolParserRegistry.make(name: "hermes2")
        }
        let message = ToolParserError.unknownParser("x", validNames: ToolParserRegistry.names).description
        #expect(message == "unknown tool call parser 'x'; valid names: granite, hermes, llama3_json, llama4_json, mistral, openai, pythonic")
    }

    @Test func streamIgnoresInputAfterFinish() {
        let stream = ToolParser.hermes.makeStream()
        #expect(stream.feed("Hi <tool") == DeltaMessage(content: "Hi "))
        #expect(stream.finish() == DeltaMessage(content: "<tool"))
        #expect(stream.feed("more") == nil)
    }

    @Test func firstChunkNamesTheCallThenFragmentsFollow() throws {
        let stream = ToolParser.hermes.makeStream()
        #expect(stream.feed("<tool_call>\n{\"name\": \"get_") == nil)
        #expect(stream.feed("weather\", ") == nil)
        let first = try #require(stream.feed("\"arguments\": {\"ci"))
        #expect(first.content == nil)
        #expect(first.toolCalls.count == 1)
        #expect(first.toolCalls[0].function == DeltaFunctionCall(name: "get_weather", arguments: "{"))
        #expect(first.toolCalls[0].index == 0 && first.toolCalls[0].type == "function")
        #expect(stream.toolsCalled)
        #expect(stream.feed("ty\": \"Pa") == DeltaMessage(toolCalls: [DeltaToolCall(index: 0, function: DeltaFunctionCall(arguments: "\"city\": \"Pa"))]))
        #expect(stream.feed("ris\"}}\n</tool_call>") == DeltaMessage(toolCalls: [DeltaToolCall(index: 0, function: DeltaFunctionCall(arguments: "ris\"}"))]))
        #expect(stream.finish() == nil)
    }
}
