import VLLM

/// `POST /v1/completions`: checks and tokenizes the request, then shapes the engine's outputs
/// as a `text_completion` object or as streamed chunks.
struct CompletionsCall: GenerationCall {
    let context: ServerContext
    let request: CompletionRequest
    let id: String
    let model: String
    let created: Int
    let jobs: [EngineJob]
    /// Each prompt's text, for `echo`.
    let promptTexts: [String]

    init(context: ServerContext, request: CompletionRequest) throws {
        self.context = context
        self.request = request
        model = try context.resolveModel(request.model)
        if request.streamOptions != nil && !request.stream {
            throw APIError.badRequest("Stream options can only be defined when `stream=True`.", param: "stream_options")
        }
        if request.suffix != nil {
            throw APIError.badRequest("suffix is not currently supported", param: "suffix")
        }
        if let k = request.logprobs {
            guard k >= 0 else { throw APIError.badRequest("logprobs must be non-negative, got \(k).", param: "logprobs") }
            guard k <= ServerContext.maxLogprobs else {
                throw APIError.badRequest("Requested sample logprobs of \(k), which is greater than max allowed: \(ServerContext.maxLogprobs)", param: "logprobs")
            }
            if request.echo {
                throw APIError.badRequest("echo with logprobs needs prompt logprobs, which are not supported yet.", param: "echo")
            }
        }
        guard request.prompt.count > 0 else { throw APIError.badRequest("prompt must not be empty.", param: "prompt") }
        id = context.makeID("cmpl-", requested: request.requestID)
        created = context.now
        let tokenizer = context.tokenizer
        var prompts: [(String, [Int])] = []
        switch request.prompt {
        case let .texts(texts):
            prompts = texts.map { ($0, tokenizer.encode($0, addSpecialTokens: request.addSpecialTokens)) }
        case let .tokens(lists):
            prompts = lists.map { (tokenizer.decode($0, skipSpecialTokens: false), $0) }
        }
        var jobs: [EngineJob] = []
        for (i, (text, ids)) in prompts.enumerated() {
            guard !ids.isEmpty else { throw APIError.badRequest("prompt \(i) is empty (it must contain at least one token).", param: "prompt") }
            let params = try request.sampling.samplingParams(maxTokens: request.maxTokens, logprobs: request.logprobs,
                                                             promptTokens: ids.count, maxModelLen: context.maxModelLen)
            let jobID = prompts.count == 1 ? id : "\(id)-\(i)"
            context.logRequest(jobID, prompt: text, params: params)
            jobs.append(EngineJob(requestID: jobID, promptTokenIDs: ids, params: params, priority: request.sampling.priority ?? 0))
        }
        self.jobs = jobs
        promptTexts = prompts.map(\.0)
    }

    var delivery: Delivery { request.stream ? .stream : .json }

    func makeChunkSource() -> any ChunkSource { Streamer(self) }

    private var n: Int { jobs.first?.params.n ?? 1 }
    private var logprobs: LogprobsFormatter { LogprobsFormatter(tokenizer: context.tokenizer) }

    private func header(_ object: String) -> [(String, JSONOut)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }

    /// The whole response from each job's last output (missing ones: aborted, left out).
    func response(finals: [RequestOutput?]) -> JSONOut {
        var choices: [JSONOut] = []
        var usage = Usage(promptTokens: 0, completionTokens: 0)
        for (i, out) in finals.enumerated() {
            usage.promptTokens += jobs[i].promptTokenIDs.count
            for o in out?.outputs ?? [] {
                usage.completionTokens += o.tokenIDs.count
                let prefix = request.echo ? promptTexts[i] : ""
                let lp: JSONOut = request.logprobs.map { k in
                    logprobs.completion(steps: (o.logprobs ?? [])[...], top: k, offset: prefix.unicodeScalars.count).json
                } ?? .null
                choices.append(.object([
                    ("index", .int(i * n + o.index)), ("text", .string(prefix + o.text)), ("logprobs", lp),
                    ("finish_reason", .string(o.finishReason)), ("stop_reason", .string(o.stopReason)),
                    ("prompt_logprobs", .null),
                ]))
            }
        }
        return .object(header("text_completion") + [("choices", .array(choices)), ("usage", usage.json),
                                                     ("kv_transfer_params", .null)])
    }

    /// Streamed chunks, one call per engine output.
    final class Streamer {
        let call: CompletionsCall
        private var cursors: [Int: ChoiceCursor] = [:]
        private var completionTokens: [Int: Int] = [:]
        /// Per choice: where the next token's `text_offset` starts.
        private var textOffsets: [Int: Int] = [:]

        init(_ call: CompletionsCall) { self.call = call }

        func chunks(for event: JobOutput) -> [JSONOut] {
            let job = event.job
            var out: [JSONOut] = []
            for o in event.output.outputs {
                let index = job * call.n + o.index
                var cursor = cursors[index] ?? ChoiceCursor(params: call.jobs[job].params)
                let first = cursors[index] == nil
                defer { cursors[index] = cursor }
                guard let delta = cursor.advance(o) else { continue }
                completionTokens[index] = o.tokenIDs.count
                let prefix = first && call.request.echo ? call.promptTexts[job] : ""
                var lp = JSONOut.null
                if let k = call.request.logprobs {
                    let steps = (o.logprobs ?? [])[delta.steps.clamped(to: 0..<(o.logprobs?.count ?? 0))]
                    let r = call.logprobs.completion(steps: steps, top: k, offset: textOffsets[index] ?? 0)
                    lp = r.json
                    textOffsets[index] = r.end
                }
                var chunk = call.header("text_completion") + [("choices", .array([.object([
                    ("index", .int(index)), ("text", .string(prefix + delta.text)), ("logprobs", lp),
                    ("finish_reason", .string(delta.finishReason)),
                    ("stop_reason", .string(delta.finishReason == nil ? nil : o.stopReason)),
                ])]))]
                if call.request.streamOptions?.continuousUsageStats == true { chunk.append(("usage", usage.json)) }
                out.append(.object(chunk))
            }
            return out
        }

        private var usage: Usage {
            Usage(promptTokens: call.jobs.reduce(0) { $0 + $1.promptTokenIDs.count },
                  completionTokens: completionTokens.values.reduce(0, +))
        }

        /// The usage chunk, when asked for with `stream_options.include_usage`.
        func finalChunks() -> [JSONOut] {
            guard call.request.streamOptions?.includeUsage == true else { return [] }
            return [.object(call.header("text_completion") + [("choices", .array([])), ("usage", usage.json)])]
        }
    }
}
