/// The OpenAI-shaped values the parsers produce, independent of any HTTP or engine types so the
/// server can encode them however its protocol layer wants.

/// A function invocation: its name and its arguments as a JSON text.
public struct FunctionCall: Equatable, Hashable, Sendable {
    public var name: String
    /// The arguments serialized as vLLM serializes them: Python's
    /// `json.dumps(arguments, ensure_ascii=False)` (`", "` and `": "` separators, keys in the
    /// order the model wrote them, non-ASCII characters written as themselves).
    public var arguments: String

    public init(name: String, arguments: String) {
        self.name = name
        self.arguments = arguments
    }
}

/// One complete tool call of a non-streamed response.
public struct ToolCall: Equatable, Hashable, Sendable {
    /// `chatcmpl-tool-<32 hex digits>`, or 9 alphanumerics for the `mistral` parser (Mistral's
    /// chat templates reject any other shape when the call is sent back).
    public var id: String
    /// Always `"function"`.
    public var type: String
    public var function: FunctionCall

    public init(id: String, type: String = "function", function: FunctionCall) {
        self.id = id
        self.type = type
        self.function = function
    }
}

/// The result of parsing a complete model output (vLLM's `ExtractedToolCallInformation`).
public struct ExtractedToolCalls: Equatable, Sendable {
    public var toolsCalled: Bool
    public var toolCalls: [ToolCall]
    /// The text that is not part of a tool call; `nil` when tools were called and no text
    /// preceded them. When no tool was called this is the whole output.
    public var content: String?

    public init(toolsCalled: Bool, toolCalls: [ToolCall], content: String?) {
        self.toolsCalled = toolsCalled
        self.toolCalls = toolCalls
        self.content = content
    }
}

/// The part of a function call carried by one streamed chunk.
public struct DeltaFunctionCall: Equatable, Sendable {
    /// Set on the first chunk of a call only, and then complete (never a fragment).
    public var name: String?
    /// The next fragment of the arguments JSON text.
    public var arguments: String?

    public init(name: String? = nil, arguments: String? = nil) {
        self.name = name
        self.arguments = arguments
    }
}

/// One tool call's part of a streamed chunk (OpenAI's `choices[].delta.tool_calls[]`).
public struct DeltaToolCall: Equatable, Sendable {
    /// The position of the call in the response, counted from 0.
    public var index: Int
    /// Set on the first chunk of a call only.
    public var id: String?
    /// `"function"` on the first chunk of a call only.
    public var type: String?
    public var function: DeltaFunctionCall

    public init(index: Int, id: String? = nil, type: String? = nil, function: DeltaFunctionCall) {
        self.index = index
        self.id = id
        self.type = type
        self.function = function
    }
}

/// What one streamed chunk adds to the message: text, tool-call parts, or both.
public struct DeltaMessage: Equatable, Sendable {
    /// Reasoning text (gpt-oss's analysis channel, `<think>` with a reasoning parser); the tool
    /// parsers leave it nil.
    public var reasoningContent: String?
    public var content: String?
    public var toolCalls: [DeltaToolCall]

    public init(reasoningContent: String? = nil, content: String? = nil, toolCalls: [DeltaToolCall] = []) {
        self.reasoningContent = reasoningContent
        self.content = content
        self.toolCalls = toolCalls
    }
}

/// The parts of a chat request a parser may consult. None of the built-in parsers needs more
/// than the tool names today; the type exists so the signature matches vLLM's and can grow.
public struct ToolCallRequest: Sendable {
    /// The names of the functions offered in `tools`, if any.
    public var toolNames: [String]?

    public init(toolNames: [String]? = nil) {
        self.toolNames = toolNames
    }
}
