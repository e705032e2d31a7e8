import Foundation
import VLLM

/// `POST /v1/completions`: checks and tokenizes the request, then shapes the engine's outputs
/// as a `text_completion` object (streamed chunks: `CompletionsCall.Streamer`).
struct CompletionsCall: GenerationCall {
    let context: ServerContext
    let request: CompletionRequest
    let id: String
    let model: String
    let created: Int
    let jobs: [EngineJob]
    /// Each prompt's text, for `echo`.
    let promptTexts: [String]
    /// `echo` with `max_tokens` 0: the prompt alone is the answer (vLLM generates one token
    /// and drops it).
    let echoOnly: Bool

    init(context: ServerContext, request: CompletionRequest) throws {
        var request = request
        self.context = context
        let served = try context.resolveModel(request.model)
        model = served.name
        if request.streamOptions != nil && !request.stream {
            throw APIError.badRequest("Stream options can only be defined when `stream=True`.", param: "stream_options")
        }
        if request.suffix != nil {
            throw APIError.badRequest("suffix is not currently supported", param: "suffix")
        }
        if let k = request.logprobs {
            guard k >= 0 else { throw APIError.badRequest("logprobs must be non-negative, got \(k).", param: "logprobs") }
            _ = try context.checkLogprobs(k, kind: "sample", param: "logprobs")
        }
        request.sampling.params.promptLogprobs = try context.checkPromptLogprobs(request.sampling.params.promptLogprobs, stream: request.stream)
        self.request = request
        // vLLM's rule: an absent or "" prompt needs embeddings.
        let noPrompt: Bool = if case .texts([""]) = request.prompt { true } else { request.prompt.count == 0 }
        guard !noPrompt || !request.promptEmbeds.isEmpty else {
            throw APIError.badRequest("Either prompt or prompt_embeds must be provided and non-empty.", param: "prompt")
        }
        echoOnly = request.echo && request.maxTokens == 0
        // vLLM: echo brings the prompt's logprobs, at the depth `logprobs` asks for.
        let promptLogprobs = request.sampling.params.promptLogprobs ?? (request.echo ? request.logprobs : nil)
        id = context.makeID("cmpl-", requested: request.requestID)
        created = context.now
        let tokenizer = context.tokenizer
        let embeddings = try request.promptEmbeds.enumerated().map { i, e throws(APIError) in try Self.promptEmbeddings(e, index: i, context: context) }
        if !embeddings.isEmpty && request.echo {
            throw APIError.badRequest("echo is not supported with prompt_embeds.", param: "echo")
        }
        var prompts: [(String, [Int])] = embeddings.map { ("", Array(repeating: 0, count: $0.rows)) }
        switch request.prompt {
        case let .texts(texts):
            prompts += texts.map { ($0, tokenizer.encode($0, addSpecialTokens: request.addSpecialTokens)) }
        case let .tokens(lists):
            prompts += lists.map { (tokenizer.decode($0, skipSpecialTokens: false), $0) }
        }
        var jobs: [EngineJob] = []
        let engineRequests = prompts.count.multipliedReportingOverflow(by: request.sampling.params.numCandidates).partialValue
        guard prompts.count == 1 || engineRequests <= context.maxEngineRequestsPerCall else {
            throw APIError.badRequest("This request would start \(engineRequests) engine requests (\(prompts.count) prompts × \(request.sampling.params.numCandidates) candidates); at most \(context.maxEngineRequestsPerCall) are allowed in one call.", param: "prompt")
        }
        for (i, (text, untruncated)) in prompts.enumerated() {
            // The engine refuses truncation of embeddings (as vLLM does); it needs the whole count.
            let ids = i < embeddings.count ? untruncated : try request.sampling.params.truncatedPrompt(untruncated, maxModelLen: context.maxModelLen)
            guard !ids.isEmpty else { throw APIError.badRequest("prompt \(i) is empty (it must contain at least one token).", param: "prompt") }
            let params = try request.sampling.samplingParams(maxTokens: echoOnly ? 1 : request.maxTokens, logprobs: request.logprobs,
                                                             promptLogprobs: promptLogprobs,
                                                             promptTokens: ids.count, maxModelLen: context.maxModelLen,
                                                         defaultMaxTokens: context.engine.engine.generationConfig?.maxNewTokens)
            context.logRequest(prompts.count == 1 ? id : "\(id)-\(i)", prompt: text, params: params, lora: served.lora)
            jobs.append(EngineJob(requestID: context.makeEngineKey(), promptTokenIDs: ids, params: params, priority: request.sampling.priority ?? 0,
                                  lora: served.lora, promptEmbeddings: i < embeddings.count ? embeddings[i] : nil))
        }
        self.jobs = jobs
        promptTexts = prompts.map(\.0)
    }

    /// One `prompt_embeds` entry: base64 of a `torch.save` file holding a (length, hidden) or
    /// (1, length, hidden) float tensor, read by the restricted reader (it is a pickle from a client).
    static func promptEmbeddings(_ base64: String, index: Int, context: ServerContext) throws(APIError) -> PromptEmbeddings {
        guard context.engine.engine.args.enablePromptEmbeds else {
            throw APIError.badRequest("You must set `--enable-prompt-embeds` to input `prompt_embeds`.", param: "prompt_embeds")
        }
        func bad(_ m: String) -> APIError { .badRequest("prompt_embeds[\(index)]: \(m)", param: "prompt_embeds") }
        guard let data = Data(base64Encoded: base64) else { throw bad("not valid base64") }
        let hidden = context.engine.engine.config.hiddenSize
        let tensor: TorchTensorFile
        do { tensor = try TorchTensorFile(bytes: Array(data), maxElements: context.maxModelLen * hidden) } catch { throw bad(error.description) }
        var shape = tensor.shape
        if shape.count == 3 && shape[0] == 1 { shape.removeFirst() }
        guard shape.count == 2, shape[0] > 0 else { throw bad("expected a tensor of shape (length, \(hidden)), got \(tensor.shape)") }
        guard shape[1] == hidden else { throw bad("each position has \(shape[1]) values; the model's hidden size is \(hidden)") }
        guard let e = PromptEmbeddings(rows: shape[0], hiddenSize: hidden, values: tensor.values) else { throw bad("holds a value that is not finite") }
        return e
    }

    /// As vLLM: when the outputs are only known at the end (`best_of` above `n`, beam search),
    /// a stream request gets the whole response as one event.
    var delivery: Delivery {
        guard request.stream else { return .json }
        let p = jobs[0].params
        return p.numCandidates != p.n || p.isBeamSearch ? .wholeAsOneEvent : .stream
    }

    func makeChunkSource() -> any ChunkSource { Streamer(self) }

    var n: Int { jobs.first?.params.n ?? 1 }
    var logprobs: LogprobsFormatter {
        LogprobsFormatter(tokenizer: context.tokenizer,
                          tokenIDs: request.tokenIDs.returnTokensAsTokenIDs ?? context.options.returnTokensAsTokenIDs)
    }

    func header(_ object: String) -> [(String, JSONOut)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }

    /// The whole response from each job's last output (missing ones: aborted, left out).
    /// Choices are numbered in order, as vLLM does (best-of outputs keep their candidate index
    /// in the engine, which is no choice number).
    func response(finals: [RequestOutput?]) -> JSONOut {
        var choices: [JSONOut] = []
        // vLLM reports the cached tokens of the last prompt.
        var usage = Usage(promptTokens: 0, completionTokens: 0, cachedTokens: finals.last??.numCachedTokens, options: context.options)
        for (i, out) in finals.enumerated() {
            usage.promptTokens += jobs[i].promptTokenIDs.count
            guard let out else { continue }
            for o in out.outputs {
                usage.completionTokens += o.tokenIDs.count
                let echoed = request.echo ? promptTexts[i] : ""
                let lp: JSONOut = request.logprobs.map { k in
                    var tokens = request.echo ? LogprobsFormatter.prompt(out) : []
                    if !echoOnly { tokens += LogprobsFormatter.sampled((o.logprobs ?? [])[...]) }
                    return logprobs.completion(tokens, top: k, offset: 0).json
                } ?? .null
                choices.append(.object([
                    ("index", .int(choices.count)), ("text", .string(echoOnly ? echoed : echoed + o.text)), ("logprobs", lp),
                    ("finish_reason", .string(o.finishReason)), ("stop_reason", .string(o.stopReason)),
                    ("token_ids", request.tokenIDs.ids(o.tokenIDs)),
                    ("prompt_logprobs", logprobs.promptLogprobs(out)),
                    ("prompt_token_ids", request.tokenIDs.ids(jobs[i].promptTokenIDs)),
                ]))
            }
        }
        return .object(header("text_completion") + [("choices", .array(choices)), ("usage", usage.json),
                                                     ("kv_transfer_params", .null)])
    }
}
