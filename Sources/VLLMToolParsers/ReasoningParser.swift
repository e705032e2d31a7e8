/// vLLM's `--reasoning-parser`: splits a reply into the model's reasoning (between `<think>` and
/// `</think>`) and its answer, whole (`reasoning_content` / `content`) or while it streams.
public struct ReasoningParser: Sendable {
    public static let startTag = "<think>", endTag = "</think>"

    /// The name vLLM registers the parser under.
    public let name: String
    /// deepseek_r1: the chat template opens `<think>` itself, so an output without the end tag
    /// is all reasoning. qwen3: an output is reasoning only between both tags, else all answer.
    let reasoningUntilEndTag: Bool

    public static let deepseekR1 = ReasoningParser(name: "deepseek_r1", reasoningUntilEndTag: true)
    public static let qwen3 = ReasoningParser(name: "qwen3", reasoningUntilEndTag: false)

    /// The parsers by the names vLLM accepts for `--reasoning-parser`.
    public static let parsers: [String: ReasoningParser] = ["deepseek_r1": .deepseekR1, "qwen3": .qwen3]
    public static var names: [String] { parsers.keys.sorted() }

    /// The reasoning and the answer of a whole output (nil for an empty or absent part), as
    /// vLLM's `extract_reasoning_content`: text before `<think>` is dropped.
    public func extract(_ output: String) -> (reasoning: String?, content: String?) {
        if !reasoningUntilEndTag && !(output.contains(Self.startTag) && output.contains(Self.endTag)) {
            return (nil, output)
        }
        var rest = Substring(output)
        if let start = rest.range(of: Self.startTag) { rest = rest[start.upperBound...] }
        guard let end = rest.range(of: Self.endTag) else { return (String(rest), nil) }
        let content = rest[end.upperBound...]
        return (String(rest[..<end.lowerBound]), content.isEmpty ? nil : String(content))
    }

    /// A splitter for one streamed reply.
    public func makeStream() -> ReasoningStream { ReasoningStream(reasoningFirst: reasoningUntilEndTag) }
}

/// The streaming side of a `ReasoningParser`, as vLLM streams it: deepseek_r1 sends reasoning
/// until `</think>` (dropping a `<think>` that opens the output); qwen3 sends answer text until
/// `<think>`, reasoning until `</think>`, then answer text. The tags are never sent; text that
/// may be the start of a tag is held back until the next piece decides it.
public final class ReasoningStream {
    private enum Phase { case outputStart, beforeStart, reasoning, answer }
    private var phase: Phase
    /// The scalars read so far of the tag awaited next.
    private var partial: [Unicode.Scalar] = []
    private var reasoning = "", content = ""

    init(reasoningFirst: Bool) { phase = reasoningFirst ? .outputStart : .beforeStart }

    private static let start = Array(ReasoningParser.startTag.unicodeScalars)
    private static let end = Array(ReasoningParser.endTag.unicodeScalars)

    /// Splits the next piece of output into reasoning and answer text (nil when none).
    public func feed(_ text: String) -> (reasoning: String?, content: String?) {
        for c in text.unicodeScalars { read(c) }
        return take()
    }

    /// The output ended: the text held back, as what it was being read as.
    public func finish() -> (reasoning: String?, content: String?) {
        let held = partial
        partial = []
        if phase == .outputStart { phase = .reasoning }
        for c in held { emit(c) }
        return take()
    }

    private func read(_ c: Unicode.Scalar) {
        let tag: [Unicode.Scalar]
        switch phase {
        case .answer: content.unicodeScalars.append(c); return
        case .outputStart, .beforeStart: tag = Self.start
        case .reasoning: tag = Self.end
        }
        partial.append(c)
        if partial.count <= tag.count && Array(tag.prefix(partial.count)) == partial {
            guard partial.count == tag.count else { return }
            partial = []
            phase = phase == .reasoning ? .answer : .reasoning
            return
        }
        // Not the tag: at the output's start, deepseek_r1 reads on as reasoning; elsewhere the
        // first held scalar is text and the rest is read again.
        var again = partial
        partial = []
        if phase == .outputStart {
            phase = .reasoning
        } else {
            emit(again.removeFirst())
        }
        for x in again { read(x) }
    }

    private func emit(_ c: Unicode.Scalar) {
        if phase == .reasoning { reasoning.unicodeScalars.append(c) } else { content.unicodeScalars.append(c) }
    }

    private func take() -> (reasoning: String?, content: String?) {
        defer { reasoning = ""; content = "" }
        return (reasoning.isEmpty ? nil : reasoning, content.isEmpty ? nil : content)
    }
}
