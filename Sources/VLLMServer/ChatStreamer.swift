import VLLM
import VLLMToolParsers

/// The chunks of a streamed chat completion: per choice, a first chunk with the assistant
/// role, then content (or `tool_calls`) deltas, then one with the finish reason; finally the
/// usage chunk when `stream_options.include_usage` asks for it.
final class ChatStreamer {
    let call: ChatCall
    private var cursors: [Int: ChoiceCursor] = [:]
    private var tools: [Int: ToolCallStream] = [:]
    private var harmony: [Int: HarmonyStream] = [:]
    private var reasoning: [Int: ReasoningStream] = [:]
    private var completionTokens: [Int: Int] = [:]
    private var cachedTokens: Int?

    init(_ call: ChatCall) { self.call = call }

    /// `tokenIDs`: the step's new token ids, sent with `return_token_ids`; `promptTokenIDs`:
    /// with the opening chunks.
    private func chunk(index: Int, delta: [(String, JSONOut)], logprobs: JSONOut = .null,
                       finishReason: String? = nil, stopReason: String? = nil,
                       tokenIDs: ArraySlice<Int> = [], promptTokenIDs: Bool = false) -> JSONOut {
        var choice: [(String, JSONOut)] = [("index", .int(index)), ("delta", .object(delta)), ("logprobs", logprobs),
                                           ("finish_reason", .string(finishReason))]
        if finishReason != nil { choice.append(("stop_reason", .string(stopReason))) }
        let ids = call.request.tokenIDs
        if ids.returnTokenIDs { choice.append(("token_ids", ids.ids(tokenIDs))) }
        var fields = call.header("chat.completion.chunk") + [("choices", .array([.object(choice)]))]
        if ids.returnTokenIDs && promptTokenIDs { fields.append(("prompt_token_ids", ids.ids(call.job.promptTokenIDs))) }
        if call.request.streamOptions?.usageOnEveryChunk == true { fields.append(("usage", usage.continuousJSON)) }
        return .object(fields)
    }

    /// The role chunks that open each choice (sent before any output, as vLLM does).
    func openingChunks() -> [JSONOut] {
        (0..<call.job.params.n).map { i in
            var delta: [(String, JSONOut)] = [("role", .string("assistant")), ("content", .string(""))]
            if let echo = call.echoText, !echo.isEmpty { delta[1] = ("content", .string(echo)) }
            return chunk(index: i, delta: delta, promptTokenIDs: true)
        }
    }

    func chunks(for event: JobOutput) -> [JSONOut] {
        var out: [JSONOut] = []
        if let n = event.output.numCachedTokens { cachedTokens = n }
        for o in event.output.outputs {
            var cursor = cursors[o.index] ?? ChoiceCursor(params: call.job.params)
            defer { cursors[o.index] = cursor }
            guard let step = cursor.advance(o) else { continue }
            completionTokens[o.index] = o.tokenIDs.count
            let logprobs = call.logprobsJSON(o.logprobs?[step.steps.clamped(to: 0..<(o.logprobs?.count ?? 0))])
            var deltas: [DeltaMessage] = []
            var finishReason = step.finishReason
            // With a reasoning parser, the reasoning goes out as it comes and only the answer
            // reaches the tool-call parser.
            var answer = step.text
            if let parser = call.context.reasoningParser {
                let stream = reasoning[o.index] ?? parser.makeStream()
                reasoning[o.index] = stream
                var (thought, text) = stream.feed(step.text)
                if step.finishReason != nil {
                    let rest = stream.finish()
                    if let r = rest.reasoning { thought = (thought ?? "") + r }
                    if let c = rest.content { text = (text ?? "") + c }
                }
                answer = text ?? ""
                if let thought, call.request.includeReasoning { deltas.append(DeltaMessage(reasoningContent: thought)) }
            }
            if call.context.harmony {
                let stream = harmony[o.index] ?? HarmonyStream()
                harmony[o.index] = stream
                var pieces: [HarmonyDelta] = []
                if let d = stream.feed(step.text) { pieces.append(d) }
                if step.finishReason != nil {
                    if let d = stream.finish(stopped: step.finishReason == "stop") { pieces.append(d) }
                    if stream.toolsCalled { finishReason = "tool_calls" }
                }
                for p in pieces {
                    var d = DeltaMessage(content: p.content, toolCalls: p.toolCalls)
                    if call.request.includeReasoning { d.reasoningContent = p.reasoningContent }
                    if d.content != nil || d.reasoningContent != nil || !d.toolCalls.isEmpty { deltas.append(d) }
                }
            } else if let parser = call.toolParser {
                let stream = tools[o.index] ?? parser.makeStream(request: call.toolRequest)
                tools[o.index] = stream
                if let d = stream.feed(answer) { deltas.append(d) }
                if step.finishReason != nil {
                    if let d = stream.finish() { deltas.append(d) }
                    if stream.toolsCalled { finishReason = "tool_calls" }
                }
            } else if !answer.isEmpty {
                deltas.append(DeltaMessage(content: answer))
            }
            // Logprobs and token ids ride on the first piece of the step (or on the finishing chunk).
            var pendingLogprobs = logprobs
            var pendingIDs = o.tokenIDs[step.steps.clamped(to: 0..<o.tokenIDs.count)]
            for (i, d) in deltas.enumerated() {
                let last = i == deltas.count - 1
                out.append(chunk(index: o.index, delta: Self.fields(d), logprobs: pendingLogprobs,
                                 finishReason: last ? finishReason : nil, stopReason: last ? o.stopReason : nil,
                                 tokenIDs: pendingIDs))
                pendingLogprobs = .null
                pendingIDs = []
            }
            if deltas.isEmpty, finishReason != nil || pendingLogprobs.isNull == false || (call.request.tokenIDs.returnTokenIDs && !pendingIDs.isEmpty) {
                out.append(chunk(index: o.index, delta: finishReason != nil ? [] : [("content", .string(""))],
                                 logprobs: pendingLogprobs, finishReason: finishReason, stopReason: o.stopReason,
                                 tokenIDs: pendingIDs))
            }
        }
        return out
    }

    private static func fields(_ d: DeltaMessage) -> [(String, JSONOut)] {
        var f: [(String, JSONOut)] = []
        if let r = d.reasoningContent { f.append(("reasoning_content", .string(r))) }
        if let c = d.content { f.append(("content", .string(c))) }
        if !d.toolCalls.isEmpty {
            f.append(("tool_calls", .array(d.toolCalls.map { t in
                var call: [(String, JSONOut)] = [("index", .int(t.index))]
                if let id = t.id { call.append(("id", .string(id))) }
                if let type = t.type { call.append(("type", .string(type))) }
                var fn: [(String, JSONOut)] = []
                if let name = t.function.name { fn.append(("name", .string(name))) }
                if let args = t.function.arguments { fn.append(("arguments", .string(args))) }
                call.append(("function", .object(fn)))
                return .object(call)
            })))
        }
        return f
    }

    private var usage: Usage {
        Usage(promptTokens: call.job.promptTokenIDs.count, completionTokens: completionTokens.values.reduce(0, +),
              cachedTokens: cachedTokens, options: call.context.options)
    }

    /// The usage chunk, when asked for.
    func finalChunks() -> [JSONOut] {
        guard call.request.streamOptions?.includeUsage == true else { return [] }
        return [.object(call.header("chat.completion.chunk") + [("choices", .array([])), ("usage", usage.json)])]
    }
}

extension JSONOut {
    var isNull: Bool { if case .null = self { return true }; return false }
}
