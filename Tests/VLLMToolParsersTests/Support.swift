import Testing
import VLLMTestSupport
import VLLMJinja
@testable import VLLMToolParsers

/// A parse result without the random ids, and with an empty content folded into nil (a stream
/// that sends no text and a result with content "" say the same thing).
struct Result: Equatable, CustomStringConvertible {
    var calls: [Call]
    var content: String?

    struct Call: Equatable {
        var name: String
        var arguments: String
    }

    var toolsCalled: Bool { !calls.isEmpty }

    init(calls: [(String, String)] = [], content: String? = nil) {
        self.calls = calls.map { Call(name: $0.0, arguments: $0.1) }
        self.content = content?.isEmpty == true ? nil : content
    }

    init(_ extracted: ExtractedToolCalls) {
        self.init(calls: extracted.toolCalls.map { ($0.function.name, $0.function.arguments) }, content: extracted.content)
    }

    var description: String {
        "calls: \(calls.map { "\($0.name)(\($0.arguments))" }), content: \(content.map { "\"\($0)\"" } ?? "nil")"
    }
}

/// A model output and what the parser must make of it.
struct Case: CustomTestStringConvertible, Sendable {
    var label: String
    var output: String
    var calls: [(String, String)]
    var content: String?
    /// Whether the expected arguments are checked against VLLMJinja's `tojson` (Python's
    /// `json.dumps(ensure_ascii=False)`) of themselves; off where the engine's JSON reader
    /// cannot hold the value (integers beyond 64 bits).
    var oracle = true

    var testDescription: String { label }
    var expected: Result { Result(calls: calls, content: content) }
}

/// The arguments JSON as `tojson` writes it after reading it back: a canonical text is a
/// fixed point of this.
func redumped(_ json: String) throws -> String {
    try Template("{{ x | tojson }}").render(["x": Value(json: json)])
}


/// `text` cut into pieces at the scalar offsets `cuts` (sorted, within bounds).
func pieces(_ text: String, cuts: [Int]) -> [String] {
    let scalars = Array(text.unicodeScalars)
    var out: [String] = []
    var last = 0
    for cut in cuts + [scalars.count] {
        out.append(String(String.UnicodeScalarView(scalars[last..<cut])))
        last = cut
    }
    return out
}

/// Random cut points for `text`, between one scalar and eight per piece.
func randomCuts(_ text: String, _ rng: inout SeededGenerator) -> [Int] {
    let n = text.unicodeScalars.count
    var cuts: [Int] = []
    var at = 0
    while true {
        at += Int.random(in: 1...8, using: &rng)
        guard at < n else { return cuts }
        cuts.append(at)
    }
}

/// Streams `chunks` through a fresh stream of `parser` and reassembles the result, checking the
/// shape of every chunk on the way: a call's first chunk carries its id, type and whole name,
/// later chunks only argument fragments; indexes appear in order; no empty chunk is sent.
func streamed(_ parser: ToolParser, _ chunks: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Result {
    let stream = parser.makeStream()
    var content = ""
    var calls: [(String, String)] = []
    var messages = chunks.map { stream.feed($0) }
    messages.append(stream.finish())
    #expect(stream.finish() == nil, "finish twice sends nothing", sourceLocation: sourceLocation)
    for message in messages {
        guard let message else { continue }
        #expect(message.content != nil || !message.toolCalls.isEmpty, "empty chunk", sourceLocation: sourceLocation)
        if let text = message.content {
            #expect(!text.isEmpty, "empty content delta", sourceLocation: sourceLocation)
            content += text
        }
        for call in message.toolCalls {
            if call.index == calls.count {
                #expect(call.id.map { isValidID($0, parser) } == true, "first chunk has a well-formed id", sourceLocation: sourceLocation)
                #expect(call.type == "function", sourceLocation: sourceLocation)
                #expect(call.function.name?.isEmpty == false, "first chunk names the function", sourceLocation: sourceLocation)
                calls.append((call.function.name ?? "", call.function.arguments ?? ""))
            } else {
                #expect(call.index < calls.count, "calls announced in order", sourceLocation: sourceLocation)
                #expect(call.id == nil && call.type == nil && call.function.name == nil, "only the first chunk names", sourceLocation: sourceLocation)
                #expect(call.function.arguments?.isEmpty == false, "no empty fragment", sourceLocation: sourceLocation)
                guard call.index < calls.count else { continue }
                calls[call.index].1 += call.function.arguments ?? ""
            }
        }
    }
    return Result(calls: calls, content: content)
}

/// Whether `text` is one JSON value. VLLMJinja's reader stops at 64-bit integers, which Python
/// (and these parsers) accept; such a text counts when only that limit stopped the reader.
func isJSON(_ text: String) -> Bool {
    do {
        _ = try Value(json: text)
        return true
    } catch {
        return error.message.contains("integer too large")
    }
}

func isValidID(_ id: String, _ parser: ToolParser) -> Bool {
    if parser.name == "mistral" {
        return id.count == 9 && id.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
    }
    let hex = id.dropFirst("chatcmpl-tool-".count)
    return id.hasPrefix("chatcmpl-tool-") && hex.count == 32 && hex.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
}

/// Everything the parsers promise about one output, for any output (well-formed or not):
/// the non-streamed parse never loses text when no tool is called, its arguments are valid
/// JSON, and streaming the output cut at every point, one character at a time, and in random
/// pieces all add up to the non-streamed parse.
func checkStreamingMatches(_ parser: ToolParser, _ output: String, seed: UInt64 = 1, sourceLocation: SourceLocation = #_sourceLocation) {
    let whole = parser.extractToolCalls(modelOutput: output)
    let expected = Result(whole)
    #expect(whole.toolsCalled == !whole.toolCalls.isEmpty, sourceLocation: sourceLocation)
    if !whole.toolsCalled {
        #expect(whole.content == output, "no call: the output is all content", sourceLocation: sourceLocation)
    }
    for call in whole.toolCalls {
        #expect(isValidID(call.id, parser), sourceLocation: sourceLocation)
        #expect(call.type == "function", sourceLocation: sourceLocation)
        #expect(isJSON(call.function.arguments), "arguments are JSON: \(call.function.arguments)", sourceLocation: sourceLocation)
    }
    let n = output.unicodeScalars.count
    #expect(streamed(parser, [output]) == expected, "one chunk", sourceLocation: sourceLocation)
    for cut in 0...n {
        let got = streamed(parser, pieces(output, cuts: cut == 0 || cut == n ? [] : [cut]))
        #expect(got == expected, "cut at \(cut): \(got) vs \(expected)", sourceLocation: sourceLocation)
    }
    let perScalar = streamed(parser, pieces(output, cuts: n > 1 ? Array(1..<n) : []))
    #expect(perScalar == expected, "one character per chunk: \(perScalar) vs \(expected)", sourceLocation: sourceLocation)
    var rng = SeededGenerator(seed: seed)
    for _ in 0..<20 {
        let got = streamed(parser, pieces(output, cuts: randomCuts(output, &rng)))
        #expect(got == expected, "random pieces: \(got) vs \(expected)", sourceLocation: sourceLocation)
    }
}

/// Generation stopped early (max_tokens): every prefix of `output` must parse without trouble,
/// stream to the same result, announce only calls the full output makes (by name, in order),
/// and complete each cut-off call's arguments into valid JSON.
func checkEveryPrefix(_ parser: ToolParser, _ output: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let full = Result(parser.extractToolCalls(modelOutput: output))
    let scalars = Array(output.unicodeScalars)
    for end in 0...scalars.count {
        let prefix = String(String.UnicodeScalarView(scalars[0..<end]))
        let whole = parser.extractToolCalls(modelOutput: prefix)
        let result = Result(whole)
        let perScalar = streamed(parser, pieces(prefix, cuts: end > 1 ? Array(1..<end) : []))
        #expect(perScalar == result, "prefix \(end): streamed \(perScalar) vs \(result)", sourceLocation: sourceLocation)
        if !whole.toolsCalled { #expect(whole.content == prefix, sourceLocation: sourceLocation) }
        let names = result.calls.map(\.name)
        #expect(Array(full.calls.map(\.name).prefix(names.count)) == names, "prefix \(end) calls \(names)", sourceLocation: sourceLocation)
        for call in result.calls {
            #expect(isJSON(call.arguments), "prefix \(end): arguments \(call.arguments) are JSON", sourceLocation: sourceLocation)
        }
    }
}
