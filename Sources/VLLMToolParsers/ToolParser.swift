/// A format's reader: fed the output one character at a time, it records in the ledger what
/// it has decided. The same machine serves streamed and non-streamed parsing, so the two can
/// only differ in how the text was cut, and the ledger makes that not matter.
protocol ToolCallMachine {
    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger)
    /// The output has ended: settle whatever is still open.
    mutating func finish(_ ledger: inout CallLedger)
}

/// A tool-call parser (vLLM's `--tool-call-parser NAME`): turns a model's output into
/// OpenAI `tool_calls` plus the remaining text, whole or while it streams.
public struct ToolParser: Sendable {
    /// The name vLLM registers the parser under.
    public let name: String
    /// Whether the detokenizer must keep special tokens: the `mistral` format starts its calls
    /// with the special token `[TOOL_CALLS]` (vLLM sets `skip_special_tokens=False` for it when
    /// the request has tools).
    public let needsSpecialTokens: Bool
    let idStyle: ToolCallIDStyle
    /// Whether text outside calls is content (false where the output can only be calls).
    let keepsText: Bool
    let makeMachine: @Sendable () -> any ToolCallMachine

    init(name: String, needsSpecialTokens: Bool = false, idStyle: ToolCallIDStyle = .random, keepsText: Bool = true,
         makeMachine: @escaping @Sendable () -> any ToolCallMachine) {
        self.name = name
        self.needsSpecialTokens = needsSpecialTokens
        self.idStyle = idStyle
        self.keepsText = keepsText
        self.makeMachine = makeMachine
    }

    /// Parses a complete output. Never throws: text that is not a well-formed call is returned
    /// as content.
    public func extractToolCalls(modelOutput: String, request: ToolCallRequest = ToolCallRequest()) -> ExtractedToolCalls {
        var machine = makeMachine()
        var ledger = CallLedger(idStyle: idStyle, keepsText: keepsText)
        for c in modelOutput.unicodeScalars { machine.feed(c, &ledger) }
        machine.finish(&ledger)
        return ledger.extracted
    }

    /// A parser for one streamed response.
    public func makeStream(request: ToolCallRequest = ToolCallRequest()) -> ToolCallStream {
        ToolCallStream(machine: makeMachine(), ledger: CallLedger(idStyle: idStyle, keepsText: keepsText))
    }
}

/// The streaming side of a parser, for one response. Feed it each new piece of decoded text;
/// each call returns what the client should be sent for that piece (nil when nothing yet), and
/// `finish()` returns what is left once generation stops. The pieces always add up to what
/// `extractToolCalls` returns for the whole text (apart from the random ids), wherever the
/// text was cut: names arrive whole on a call's first chunk, arguments in fragments.
public final class ToolCallStream {
    private var machine: any ToolCallMachine
    private var ledger: CallLedger
    private var finished = false
    private var sentContent = 0
    /// Per announced call: UTF-8 bytes of arguments sent so far.
    private var sentArguments: [Int] = []

    init(machine: any ToolCallMachine, ledger: CallLedger) {
        self.machine = machine
        self.ledger = ledger
    }

    /// Whether any tool call has been announced (the response's `finish_reason` becomes
    /// `tool_calls`).
    public var toolsCalled: Bool { ledger.toolsCalled }

    /// Feeds the next piece of output text. `tokenIDs` (the piece's tokens) are accepted for
    /// symmetry with vLLM and not needed: the formats are recognized from text.
    public func feed(_ text: String, tokenIDs: [Int] = []) -> DeltaMessage? {
        guard !finished else { return nil }
        for c in text.unicodeScalars { machine.feed(c, &ledger) }
        return delta()
    }

    /// Ends the stream (generation stopped, for whatever reason) and returns the last chunk:
    /// held-back text that turned out not to start a call, or the completion of a call that
    /// was cut off.
    public func finish() -> DeltaMessage? {
        guard !finished else { return nil }
        finished = true
        machine.finish(&ledger)
        return delta()
    }

    /// What the ledger gained since the last chunk.
    private func delta() -> DeltaMessage? {
        var message = DeltaMessage()
        let content = ledger.content.utf8
        if content.count > sentContent {
            message.content = String(decoding: content.dropFirst(sentContent), as: UTF8.self)
            sentContent = content.count
        }
        for (i, call) in ledger.calls.enumerated() {
            let args = call.arguments.utf8
            let isNew = i >= sentArguments.count
            if isNew { sentArguments.append(0) }
            let fragment = args.count > sentArguments[i] ? String(decoding: args.dropFirst(sentArguments[i]), as: UTF8.self) : nil
            sentArguments[i] = args.count
            guard isNew || fragment != nil else { continue }
            message.toolCalls.append(DeltaToolCall(
                index: i, id: isNew ? call.id : nil, type: isNew ? "function" : nil,
                function: DeltaFunctionCall(name: isNew ? call.name : nil, arguments: fragment)))
        }
        return message.content == nil && message.toolCalls.isEmpty ? nil : message
    }
}
