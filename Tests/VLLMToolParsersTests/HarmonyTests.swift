import Testing
@testable import VLLMToolParsers

/// gpt-oss's harmony output as vLLM 0.11 shapes it (serving_chat's harmony path,
/// `harmony_utils.parse_chat_output`, the `openai` tool parser and the streaming branch), on
/// hand-written replies; the streamed pieces add up to the whole wherever the text is cut.
@Suite struct HarmonyTests {
    static let analysis = "<|channel|>analysis<|message|>The user greets; reply kindly.<|end|>"
    static let final = "<|start|>assistant<|channel|>final<|message|>Hello! How can I help?"
    static let call = "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}"

    static func parse(_ text: String, stopped: Bool = true, tools: Bool = false) -> HarmonyChatOutput {
        let p = HarmonyParser()
        p.feed(text)
        p.finish(stopped: stopped)
        return HarmonyChatOutput(p, withTools: tools)
    }

    @Test func reasoningThenFinal() {
        let out = Self.parse(Self.analysis + Self.final)
        #expect(out.reasoningContent == "The user greets; reply kindly.")
        #expect(out.content == "Hello! How can I help?")
        #expect(out.toolCalls.isEmpty)
    }

    @Test func cutOffWhileReasoningOrAnswering() {
        let thinking = Self.parse("<|channel|>analysis<|message|>The user gre", stopped: false)
        #expect(thinking.reasoningContent == "The user gre" && thinking.content == nil)
        let answering = Self.parse(Self.analysis + "<|start|>assistant<|channel|>final<|message|>Hel", stopped: false)
        #expect(answering.reasoningContent == "The user greets; reply kindly." && answering.content == "Hel")
        // Cut inside a header: the reasoning is complete, the content empty.
        let header = Self.parse(Self.analysis + "<|start|>assistant<|chan", stopped: false)
        #expect(header.reasoningContent == "The user greets; reply kindly." && header.content == "")
    }

    @Test func severalMessagesJoinTheirReasoning() {
        let text = Self.analysis + "<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>" + Self.final
        let out = Self.parse(text)
        #expect(out.reasoningContent == "The user greets; reply kindly.\nChecking.")
        #expect(out.content == "Hello! How can I help?")
    }

    @Test func toolCallsWithTheOpenAIParser() {
        let out = Self.parse(Self.analysis + Self.call, tools: true)
        #expect(out.toolCalls.map(\.function) == [FunctionCall(name: "get_weather", arguments: "{\"city\": \"Paris\"}")])
        // Arguments come out as json.dumps writes them (spacing, ASCII escapes); text that is not
        // JSON, or has another content type, as it is; an empty call is skipped.
        let spaced = Self.parse("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"city\":\"Zürich\",\"n\":[1,2.5]}<|call|>"
                                + "<|start|>assistant<|channel|>commentary to=functions.g<|message|>not json<|call|>"
                                + "<|start|>assistant<|channel|>commentary to=functions.h code<|message|>{ }<|call|>"
                                + "<|start|>assistant<|channel|>commentary to=functions.e<|message|><|call|>", tools: true)
        #expect(spaced.toolCalls.map(\.function.arguments) == ["{\"city\": \"Z\\u00fcrich\", \"n\": [1, 2.5]}", "not json", "{ }"])
        #expect(out.toolCalls[0].id.hasPrefix("chatcmpl-tool-") && out.toolCalls[0].type == "function")
        #expect(out.content == nil && out.reasoningContent == "The user greets; reply kindly.")
        // The recipient may come before the channel (as the chat template renders past calls);
        // two calls, then a final answer.
        let two = Self.parse("<|channel|>analysis<|message|>Two lookups.<|end|><|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{}<|call|>"
                             + Self.call + "<|call|>" + Self.final, tools: true)
        #expect(two.toolCalls.map(\.function.name) == ["lookup", "get_weather"])
        #expect(two.toolCalls.map(\.function.arguments) == ["{}", "{\"city\": \"Paris\"}"])
        #expect(two.content == "Hello! How can I help?")
        // Without the tool parser, a call is only text.
        let plain = Self.parse(Self.analysis + Self.call)
        #expect(plain.toolCalls.isEmpty && plain.content == "{\"city\": \"Paris\"}")
    }

    @Test func headersAreRead() {
        let m = HarmonyMessage.header("assistant to=functions.get_weather<|channel|>commentary json", role: "assistant")
        #expect(m == HarmonyMessage(role: "assistant", channel: "commentary", recipient: "functions.get_weather", contentType: "json"))
        let n = HarmonyMessage.header("<|channel|>commentary to=functions.f <|constrain|>json", role: "assistant")
        #expect(n == HarmonyMessage(role: "assistant", channel: "commentary", recipient: "functions.f", contentType: "json"))
        #expect(HarmonyMessage.header("<|channel|>final", role: "assistant") == HarmonyMessage(channel: "final"))
    }

    /// Text that looks like a marker but is not one stays text; a lone "<" too.
    @Test func nearMarkersAreText() {
        let out = Self.parse("<|channel|>final<|message|>a <| b <|en d <|endx| <")
        #expect(out.reasoningContent == "a <| b <|en d <|endx| <" && out.content == "")
    }

    struct Streamed: Equatable {
        var reasoning = "", content = ""
        var names: [String] = [], arguments: [String] = [], indices: [Int] = []
        var toolsCalled = false
    }

    static func stream(_ pieces: [String], stopped: Bool = true) -> Streamed {
        let s = HarmonyStream()
        var out = Streamed()
        func take(_ d: HarmonyDelta?) {
            guard let d else { return }
            out.reasoning += d.reasoningContent ?? ""
            out.content += d.content ?? ""
            for t in d.toolCalls {
                if let name = t.function.name {
                    #expect(t.id?.hasPrefix("chatcmpl-tool-") == true && t.type == "function" && t.function.arguments == "")
                    out.names.append(name)
                    out.arguments.append("")
                    out.indices.append(t.index)
                } else {
                    #expect(t.id == nil && t.index == out.indices.last)
                    out.arguments[out.arguments.count - 1] += t.function.arguments ?? ""
                }
            }
        }
        for p in pieces { take(s.feed(p)) }
        take(s.finish(stopped: stopped))
        out.toolsCalled = s.toolsCalled
        return out
    }

    /// Streaming: analysis as reasoning, final as content, calls announced by name (index in
    /// order) with their arguments in fragments; cut at every position and fed a character at
    /// a time, the pieces add up to the same.
    @Test func streamedPiecesAddUpWhereverCut() {
        let text = Self.analysis + "<|start|>assistant<|channel|>commentary<|message|>Preamble.<|end|>" + Self.call + "<|call|>"
            + "<|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{}<|call|>" + Self.final
        let want = Streamed(reasoning: "The user greets; reply kindly.", content: "Hello! How can I help?",
                            names: ["get_weather", "lookup"], arguments: ["{\"city\": \"Paris\"}", "{}"], indices: [0, 1], toolsCalled: true)
        #expect(Self.stream([text]) == want)
        #expect(Self.stream(text.map { String($0) }) == want)
        let chars = Array(text)
        for cut in 1..<chars.count {
            #expect(Self.stream([String(chars[..<cut]), String(chars[cut...])]) == want, "cut at \(cut)")
        }
    }

    @Test func streamWithoutCallsReportsNone() {
        let s = Self.stream([Self.analysis, Self.final])
        #expect(s == Streamed(reasoning: "The user greets; reply kindly.", content: "Hello! How can I help?"))
    }
}

extension HarmonyTests {
    /// `--tool-call-parser openai` reads the same calls and final text through the generic
    /// parser interface, whole and streamed.
    @Test func openaiToolParser() throws {
        let parser = try ToolParserRegistry.make(name: "openai")
        #expect(parser.needsSpecialTokens)
        let text = Self.analysis + Self.call + "<|call|>" + Self.final
        let whole = parser.extractToolCalls(modelOutput: text)
        #expect(whole.toolsCalled && whole.toolCalls.map(\.function) == [FunctionCall(name: "get_weather", arguments: "{\"city\": \"Paris\"}")])
        let stream = parser.makeStream()
        var args = ""
        for c in text { for t in stream.feed(String(c))?.toolCalls ?? [] { args += t.function.arguments ?? "" } }
        _ = stream.finish()
        #expect(stream.toolsCalled && args == "{\"city\": \"Paris\"}")
    }
}
