/// What a parser has decided so far about one output. Every field only ever grows: content and
/// argument text are appended to, never rewritten, and a call once opened stays a call. That is
/// what lets a stream send each chunk as "what the ledger gained since the last chunk" and be
/// sure the chunks add up to the non-streamed result, however the text was cut.
struct CallLedger {
    struct Call {
        var id: String
        var name: String
        var arguments = ""
        var closed = false
    }

    let idStyle: ToolCallIDStyle
    /// False: text outside calls is dropped (an output constrained to be calls only).
    let keepsText: Bool
    private(set) var content = ""
    private(set) var calls: [Call] = []

    init(idStyle: ToolCallIDStyle, keepsText: Bool = true) {
        self.idStyle = idStyle
        self.keepsText = keepsText
    }

    var toolsCalled: Bool { !calls.isEmpty }

    /// Text outside tool calls. Models put text before their calls; what they put after or
    /// between calls is dropped, as vLLM's non-streaming parsers drop it, so once a call exists
    /// further text is ignored.
    mutating func addText(_ text: String) {
        if calls.isEmpty && keepsText { content += text }
    }

    mutating func addText(_ scalar: Unicode.Scalar) {
        if calls.isEmpty && keepsText { content.unicodeScalars.append(scalar) }
    }

    /// Starts a call; returns its index.
    mutating func open(name: String) -> Int {
        calls.append(Call(id: idStyle.make(), name: name))
        return calls.count - 1
    }

    /// Brings call `index`'s arguments up to `text`, which extends what was recorded before.
    mutating func setArguments(_ index: Int, to text: String) {
        let have = calls[index].arguments.utf8.count
        guard text.utf8.count > have else { return }
        calls[index].arguments += String(decoding: text.utf8.dropFirst(have), as: UTF8.self)
    }

    /// Ends call `index` with its final arguments text (which extends what was recorded).
    /// A call whose arguments never started gets `{}`, as vLLM's streaming path completes it.
    mutating func close(_ index: Int, arguments: String) {
        setArguments(index, to: arguments.isEmpty ? "{}" : arguments)
        calls[index].closed = true
    }

    /// The non-streamed result this ledger stands for.
    var extracted: ExtractedToolCalls {
        let toolCalls = calls.map { ToolCall(id: $0.id, function: FunctionCall(name: $0.name, arguments: $0.arguments)) }
        if toolCalls.isEmpty { return ExtractedToolCalls(toolsCalled: false, toolCalls: [], content: content) }
        return ExtractedToolCalls(toolsCalled: true, toolCalls: toolCalls, content: content.isEmpty ? nil : content)
    }
}
