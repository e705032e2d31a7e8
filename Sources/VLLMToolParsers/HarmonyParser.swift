import Foundation

/// One message of gpt-oss's "harmony" output format:
/// `<|start|>ROLE` header `<|message|>` text, ended by `<|end|>`, `<|return|>` or `<|call|>`, where
/// the header holds `<|channel|>CHANNEL`, an optional ` to=RECIPIENT` (before or after the
/// channel) and an optional content type (`json`, or `<|constrain|>json`).
public struct HarmonyMessage: Sendable, Equatable {
    public var role: String
    public var channel: String?
    public var recipient: String?
    public var contentType: String?
    public var text: String

    public init(role: String = "assistant", channel: String? = nil, recipient: String? = nil, contentType: String? = nil, text: String = "") {
        (self.role, self.channel, self.recipient, self.contentType, self.text) = (role, channel, recipient, contentType, text)
    }

    /// The function a `functions.NAME` recipient calls.
    var functionName: String? {
        guard let r = recipient, r.hasPrefix("functions.") else { return nil }
        return String(r.dropFirst("functions.".count))
    }

    /// Reads a header (the text between `<|start|>` and `<|message|>`, or the whole header of
    /// the reply's first message, whose `<|start|>assistant` is the end of the prompt).
    static func header(_ raw: String, role defaultRole: String) -> HarmonyMessage {
        var m = HarmonyMessage(role: defaultRole)
        var text = raw
        var constrained: String?
        if let r = text.range(of: "<|constrain|>") {
            constrained = text[r.upperBound...].split(whereSeparator: \.isWhitespace).first.map(String.init)
            text = String(text[..<r.lowerBound])
        }
        var beforeChannel = text
        if let r = text.range(of: "<|channel|>") {
            beforeChannel = String(text[..<r.lowerBound])
            var words = text[r.upperBound...].split(whereSeparator: \.isWhitespace).map(String.init)
            if !words.isEmpty { m.channel = words.removeFirst() }
            for w in words {
                if w.hasPrefix("to=") { m.recipient = String(w.dropFirst(3)) } else if m.contentType == nil { m.contentType = w }
            }
        }
        var words = beforeChannel.split(whereSeparator: \.isWhitespace).map(String.init)
        if let first = words.first, !first.hasPrefix("to=") {
            m.role = first
            words.removeFirst()
        }
        for w in words where w.hasPrefix("to=") { m.recipient = String(w.dropFirst(3)) }
        if let c = constrained { m.contentType = c }
        return m
    }
}

/// Reads harmony output as it arrives (text with the format's special tokens kept), the way
/// vLLM's gpt-oss path reads it with openai_harmony's `StreamableParser`: completed messages, the
/// message in progress, and per piece of text the delta to stream.
public final class HarmonyParser {
    public private(set) var messages: [HarmonyMessage] = []
    /// The message whose header or text is being read (nil between messages).
    public private(set) var current: HarmonyMessage?
    /// Whether `current`'s header is complete (its text is being read).
    public private(set) var inContent = false
    private var header = ""
    /// Characters not yet known not to begin a marker.
    private var held: [Unicode.Scalar] = []
    private static let markers = ["<|end|>", "<|return|>", "<|call|>", "<|start|>", "<|message|>"].map { Array($0.unicodeScalars) }

    /// A parser for a reply whose prompt ended with `<|start|>assistant`.
    public init() {
        current = HarmonyMessage()
    }

    /// Feeds the next piece of output.
    public func feed(_ text: String) {
        for c in text.unicodeScalars {
            held.append(c)
            while !held.isEmpty {
                if let marker = Self.markers.first(where: { held.starts(with: $0) }) {
                    held.removeFirst(marker.count)
                    mark(String(String.UnicodeScalarView(marker)))
                    continue
                }
                if Self.markers.contains(where: { $0.starts(with: held) }) { break }
                append(held.removeFirst())
            }
        }
    }

    private func append(_ c: Unicode.Scalar) {
        if inContent {
            current!.text.unicodeScalars.append(c)
        } else if current != nil {
            header.unicodeScalars.append(c)
        }
    }

    private func mark(_ marker: String) {
        switch marker {
        case "<|start|>":
            current = HarmonyMessage(role: "")
            header = ""
            inContent = false
        case "<|message|>":
            // Outside a header (or inside a message's text) it starts nothing new.
            guard let c = current, !inContent else {
                if inContent { current!.text += marker }
                return
            }
            let parsed = HarmonyMessage.header(header, role: c.role.isEmpty ? "assistant" : c.role)
            current = parsed
            inContent = true
        default:  // an end marker
            if inContent, let c = current { messages.append(c) }
            current = nil
            inContent = false
            header = ""
        }
    }

    /// The output has ended. `stopped`: by one of the reply's stop tokens (`<|return|>`,
    /// `<|call|>`), which the engine leaves out of the text but which end the message in progress
    /// as they would have; otherwise (a length limit) the message stays incomplete.
    public func finish(stopped: Bool) {
        for c in held { append(c) }
        held = []
        if stopped, inContent, let c = current {
            messages.append(c)
            current = nil
            inContent = false
        }
    }

    /// The text of the message in progress (openai_harmony's `current_content`).
    public var currentContent: String { inContent ? current?.text ?? "" : "" }
}

/// How vLLM (0.11) shapes a harmony reply as a chat completion message.
public struct HarmonyChatOutput: Sendable, Equatable {
    public var reasoningContent: String?
    public var content: String?
    public var toolCalls: [ToolCall] = []

    /// `harmony_utils.parse_chat_output`: with no complete message the reasoning is the text in
    /// progress; with one, it is that message's text and the content the text in progress; with
    /// more, the reasoning is all but the last joined by newlines and the content the last one.
    /// With a tool parser (`openai`): the content is the last `final`-channel message and every
    /// message to a `functions.NAME` recipient is a call, its JSON text re-serialized as Python's
    /// `json.dumps` writes it (ASCII only) when its content type is none or JSON and it parses;
    /// messages with no text are skipped.
    public init(_ p: HarmonyParser, withTools: Bool) {
        let msgs = p.messages
        switch msgs.count {
        case 0: (reasoningContent, content) = (p.currentContent, nil)
        case 1: (reasoningContent, content) = (msgs[0].text, p.currentContent)
        default: (reasoningContent, content) = (msgs.dropLast().map(\.text).joined(separator: "\n"), msgs.last!.text)
        }
        guard withTools else { return }
        content = nil
        for m in msgs where !m.text.isEmpty {
            if let name = m.functionName {
                toolCalls.append(ToolCall(id: ToolCallIDStyle.random.make(),
                                          function: FunctionCall(name: name, arguments: Self.arguments(m.text, contentType: m.contentType))))
            } else if m.channel == "final" {
                content = m.text
            }
        }
    }
}

extension HarmonyChatOutput {
    /// `json.dumps(json.loads(text))` when the content type allows JSON and the text is one JSON
    /// value; the text as it is otherwise.
    static func arguments(_ text: String, contentType: String?) -> String {
        guard contentType.map({ $0.isEmpty || $0.contains("json") }) ?? true else { return text }
        var value = CanonicalValue(.json)
        for c in text.unicodeScalars {
            switch value.feed(c) {
            case .failed: return text
            case .doneUnconsumed where !(c == " " || c == "\t" || c == "\n" || c == "\r"): return text
            default: break
            }
        }
        guard value.isDone else { return text }
        // CanonicalValue writes ensure_ascii=False; json.dumps' default escapes the rest.
        var out = ""
        for c in value.committed.unicodeScalars {
            if c.isASCII { out.unicodeScalars.append(c); continue }
            for unit in String(c).utf16 {
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }
}

/// The streamed side (vLLM's harmony branch of `chat_completion_stream_generator`): `analysis`
/// text as `reasoning_content`, `final` text as `content`, a call to `functions.NAME` on the
/// `commentary` channel as a tool call announced with its name (and empty arguments) when its
/// header completes and its text as argument fragments; other text is not sent.
public final class HarmonyStream {
    public let parser = HarmonyParser()
    /// The message being streamed (an index into the completed messages, then the current one),
    /// the characters of its text already sent, and whether its call was announced.
    private var cursor = 0, sent = 0, announced = false
    /// Whether a tool call was streamed (the finish reason becomes `tool_calls`).
    public private(set) var toolsCalled = false

    public init() {}

    /// Feeds the next piece of output text; returns the delta to send (nil: nothing).
    public func feed(_ text: String) -> HarmonyDelta? {
        parser.feed(text)
        return delta()
    }

    /// The output has ended (`stopped`: by a stop token, see `HarmonyParser.finish`).
    public func finish(stopped: Bool) -> HarmonyDelta? {
        parser.finish(stopped: stopped)
        return delta()
    }

    private func delta() -> HarmonyDelta? {
        var out = HarmonyDelta()
        let all = parser.messages + (parser.inContent ? [parser.current!] : [])
        while cursor < all.count {
            let m = all[cursor]
            let scalars = m.text.unicodeScalars
            let piece = String(String.UnicodeScalarView(scalars.dropFirst(sent)))
            switch m.channel {
            case "analysis": if !piece.isEmpty { out.reasoningContent = (out.reasoningContent ?? "") + piece }
            case "final": if !piece.isEmpty { out.content = (out.content ?? "") + piece }
            case "commentary" where m.functionName != nil:
                let index = all[..<cursor].filter { $0.channel == "commentary" && $0.functionName != nil }.count
                if !announced {
                    announced = true
                    out.toolCalls.append(DeltaToolCall(index: index, id: ToolCallIDStyle.random.make(), type: "function",
                                                       function: DeltaFunctionCall(name: m.functionName, arguments: "")))
                }
                if !piece.isEmpty { out.toolCalls.append(DeltaToolCall(index: index, function: DeltaFunctionCall(arguments: piece))) }
                toolsCalled = true
            default: break
            }
            guard cursor < parser.messages.count else {
                sent = scalars.count
                break
            }
            (cursor, sent, announced) = (cursor + 1, 0, false)
        }
        return out.isEmpty ? nil : out
    }
}

/// A streamed harmony delta.
public struct HarmonyDelta: Sendable, Equatable {
    public var reasoningContent: String?
    public var content: String?
    public var toolCalls: [DeltaToolCall] = []
    var isEmpty: Bool { reasoningContent == nil && content == nil && toolCalls.isEmpty }
}

extension ToolParser {
    /// vLLM's `openai` parser (gpt-oss): calls are harmony messages to `functions.NAME`, the
    /// content is the `final` channel's text. The chat endpoint reads gpt-oss replies with
    /// `HarmonyChatOutput` / `HarmonyStream` directly (they also carry the reasoning); this is the
    /// same reading for every other use of a tool parser.
    public static let openai = ToolParser(name: "openai", needsSpecialTokens: true) { HarmonyToolMachine() }
}

struct HarmonyToolMachine: ToolCallMachine {
    private let stream = HarmonyStream()
    private var arguments: [Int: String] = [:]

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) { apply(stream.feed(String(c)), &ledger) }

    mutating func finish(_ ledger: inout CallLedger) { apply(stream.finish(stopped: true), &ledger) }

    private mutating func apply(_ d: HarmonyDelta?, _ ledger: inout CallLedger) {
        guard let d else { return }
        if let c = d.content { ledger.addText(c) }
        for t in d.toolCalls {
            if let name = t.function.name {
                arguments[ledger.open(name: name)] = ""
            }
            if let a = t.function.arguments, !a.isEmpty {
                arguments[t.index, default: ""] += a
                ledger.setArguments(t.index, to: arguments[t.index]!)
            }
        }
    }
}
