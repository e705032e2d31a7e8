import VLLM
import VLLMJinja
import VLLMToolParsers

/// `POST /v1/chat/completions`: renders the conversation with the chat template, then shapes
/// the engine's output as a `chat.completion` or as streamed chunks, turning tool-call text
/// into `tool_calls` when a parser is on.
struct ChatCall: GenerationCall {
    let context: ServerContext
    let request: ChatRequest
    let id: String
    let model: String
    let created: Int
    let job: EngineJob
    /// Set when the output is parsed for tool calls (`tool_choice` auto with a parser, or a
    /// forced choice).
    let toolParser: ToolParser?
    /// `tool_choice` "required" or named: the output is constrained to calls.
    let forcedToolChoice: Bool
    let toolNames: [String]
    /// With `echo`: the final assistant message's text, which the reply continues.
    let echoText: String?

    init(context: ServerContext, request: ChatRequest, body: String, cancel: CancellationFlag? = nil) throws {
        var request = request
        self.context = context
        let served = try context.resolveModel(request.model)
        model = served.name
        if request.streamOptions != nil && !request.stream {
            throw APIError.badRequest("Stream options can only be defined when `stream=True`.", param: "stream_options")
        }
        if let k = request.topLogprobs {
            guard k >= 0 || k == -1 else { throw APIError.badRequest("`top_logprobs` must be a positive value or -1.", param: "top_logprobs") }
            guard request.logprobs || k == 0 else { throw APIError.badRequest("when using `top_logprobs`, `logprobs` must be set to true.", param: "top_logprobs") }
            request.topLogprobs = try context.checkLogprobs(k, kind: "sample", param: "top_logprobs")
        }
        request.sampling.params.promptLogprobs = try context.checkPromptLogprobs(request.sampling.params.promptLogprobs, stream: request.stream)
        self.request = request
        var inputs = try ChatInputs(body: body)
        if let effort = request.reasoningEffort {
            guard ["low", "medium", "high"].contains(effort) else {
                throw APIError.badRequest("reasoning_effort must be one of 'low', 'medium', 'high' (got '\(effort.prefix(40))').", param: "reasoning_effort")
            }
            if !inputs.kwargs.contains(where: { $0.0 == "reasoning_effort" }) { inputs.kwargs.append(("reasoning_effort", .string(effort))) }
        }
        toolNames = inputs.toolNames
        // OpenAI: with tools and no tool_choice, the model decides ("auto").
        let choice = request.toolChoice ?? (inputs.tools == nil ? .none : .auto)
        var forced: StructuredOutputsParams?
        switch choice {
        case .none: toolParser = nil
        case .auto where context.harmony:
            // vLLM's harmony path takes tools without the flags (they are rendered; calls are
            // read only with --tool-call-parser openai, whatever the request asks).
            toolParser = context.toolParser
        case .auto:
            guard let parser = context.toolParser else {
                throw APIError.badRequest("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", param: "tool_choice")
            }
            toolParser = inputs.tools == nil ? nil : parser
        case .required where inputs.offeredTools?.isEmpty == true:
            // vLLM and OpenAI: "required" over an empty list behaves as "none".
            toolParser = nil
        case .required, .function:
            guard !context.harmony else {
                throw APIError.badRequest("tool_choice 'required' or a named function is not supported for harmony (gpt-oss) models; use 'auto'.", param: "tool_choice")
            }
            forced = try ToolChoiceConstraint.structuredOutputs(choice, tools: inputs.offeredTools)
            if case let .function(name) = choice { toolParser = .namedCall(name) } else { toolParser = .requiredCalls }
        }
        forcedToolChoice = forced != nil
        let prompt = try context.renderer.render(inputs, addGenerationPrompt: request.addGenerationPrompt,
                                                 continueFinalMessage: request.continueFinalMessage,
                                                 requestTemplate: request.chatTemplate, cancel: cancel)
        let ids = try request.sampling.params.truncatedPrompt(context.tokenizer.encode(prompt, addSpecialTokens: request.addSpecialTokens),
                                                              maxModelLen: context.maxModelLen)
        guard !ids.isEmpty else { throw APIError.badRequest("The rendered prompt is empty.", param: "messages") }
        // vLLM: echo brings the prompt's logprobs at the `top_logprobs` depth. Only a whole
        // response carries them, and beam search has none.
        let echoLogprobs = request.echo && !request.stream ? (request.topLogprobs ?? 0) : nil
        var params = try request.sampling.samplingParams(maxTokens: request.outputLimit,
                                                         logprobs: request.logprobs ? (request.topLogprobs ?? 0) : nil,
                                                         promptLogprobs: request.sampling.params.promptLogprobs ?? echoLogprobs,
                                                         promptTokens: ids.count, maxModelLen: context.maxModelLen,
                                                         defaultMaxTokens: context.engine.engine.generationConfig?.maxNewTokens)
        if request.sampling.params.promptLogprobs == nil && params.isBeamSearch { params.promptLogprobs = nil }
        // vLLM: the tools' schema replaces a `json` constraint the request also gave.
        if let forced { params.structuredOutputs = forced }
        if request.stream && params.numCandidates != params.n && !params.isBeamSearch {
            throw APIError.badRequest("best_of above n is not available when `stream=True`: the best choices are known only at the end.", param: "best_of")
        }
        // A parser that recognizes calls by a special token needs it kept in the text.
        if toolParser?.needsSpecialTokens == true || context.harmony { params.skipSpecialTokens = false }
        id = context.makeID("chatcmpl-", requested: request.requestID)
        created = context.now
        context.logRequest(id, prompt: prompt, params: params, lora: served.lora)
        job = EngineJob(requestID: context.makeEngineKey(), promptTokenIDs: ids, params: params, priority: request.sampling.priority ?? 0, lora: served.lora)
        echoText = request.echo ? Self.lastAssistantText(inputs.messages) : nil
    }

    static func json(_ call: ToolCall) -> JSONOut {
        .object([("id", .string(call.id)), ("type", .string(call.type)), ("function", .object([
            ("name", .string(call.function.name)), ("arguments", .string(call.function.arguments)),
        ]))])
    }

    private static func lastAssistantText(_ messages: Value) -> String? {
        guard case let .list(list) = messages, case let .dict(last)? = list.last,
              case .string("assistant")? = last["role"], case let .string(text)? = last["content"] else { return nil }
        return text
    }

    var jobs: [EngineJob] { [job] }
    var delivery: Delivery { request.stream ? .stream : .json }
    func makeChunkSource() -> any ChunkSource { ChatStreamer(self) }

    var logprobs: LogprobsFormatter {
        LogprobsFormatter(tokenizer: context.tokenizer,
                          tokenIDs: request.tokenIDs.returnTokensAsTokenIDs ?? context.options.returnTokensAsTokenIDs)
    }
    var toolRequest: ToolCallRequest { ToolCallRequest(toolNames: toolNames) }

    func header(_ object: String) -> [(String, JSONOut)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }

    func logprobsJSON(_ steps: ArraySlice<StepLogprobs>?) -> JSONOut {
        guard request.logprobs, let steps else { return .null }
        return .object([("content", .array(logprobs.chatContent(steps: steps, top: request.topLogprobs ?? 0)))])
    }

    /// The whole response from the last output (nil: aborted).
    func response(finals: [RequestOutput?]) -> JSONOut {
        let final = finals.first ?? nil
        var choices: [JSONOut] = []
        var completionTokens = 0
        // Numbered in order: best-of outputs keep their candidate index in the engine.
        for (index, o) in (final?.outputs ?? []).enumerated() {
            completionTokens += o.tokenIDs.count
            var content: String? = (echoText ?? "") + o.text
            var toolCalls: [JSONOut] = []
            var finishReason = o.finishReason
            var reasoning: String?
            // With a reasoning parser, tool calls are read from the answer after the reasoning.
            var answer = o.text
            if let parser = context.reasoningParser {
                let split = parser.extract(o.text)
                reasoning = request.includeReasoning ? split.reasoning : nil
                answer = split.content ?? ""
                content = split.content.map { (echoText ?? "") + $0 }
            }
            if context.harmony {
                let parser = HarmonyParser()
                parser.feed(o.text)
                parser.finish(stopped: o.finishReason == "stop")
                let out = HarmonyChatOutput(parser, withTools: context.toolParser != nil)
                (content, reasoning) = (out.content, request.includeReasoning ? out.reasoningContent : nil)
                toolCalls = out.toolCalls.map(Self.json)
                if !toolCalls.isEmpty { finishReason = "tool_calls" }
            } else if let parser = toolParser {
                let extracted = parser.extractToolCalls(modelOutput: answer, request: toolRequest)
                if forcedToolChoice {
                    // vLLM: content "", and the engine's finish reason (not "tool_calls").
                    content = ""
                    toolCalls = extracted.toolCalls.map(Self.json)
                } else if extracted.toolsCalled {
                    content = extracted.content
                    toolCalls = extracted.toolCalls.map(Self.json)
                    finishReason = "tool_calls"
                }
            }
            choices.append(.object([
                ("index", .int(index)),
                ("message", .object([
                    ("role", .string("assistant")), ("content", .string(content)), ("refusal", .null),
                    ("annotations", .null), ("audio", .null), ("function_call", .null),
                    ("tool_calls", .array(toolCalls)), ("reasoning_content", .string(reasoning)),
                ])),
                ("logprobs", logprobsJSON(o.logprobs?[...])),
                ("finish_reason", .string(finishReason)),
                ("stop_reason", .string(o.stopReason)),
                ("token_ids", request.tokenIDs.ids(o.tokenIDs)),
            ]))
        }
        let usage = Usage(promptTokens: job.promptTokenIDs.count, completionTokens: completionTokens,
                          cachedTokens: final?.numCachedTokens, options: context.options)
        return .object(header("chat.completion") + [
            ("choices", .array(choices)), ("service_tier", .null), ("system_fingerprint", .null),
            ("usage", usage.json), ("prompt_logprobs", logprobs.promptLogprobs(final)),
            ("prompt_token_ids", request.tokenIDs.ids(job.promptTokenIDs)), ("kv_transfer_params", .null),
        ])
    }
}
