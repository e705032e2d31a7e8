import Foundation
import VLLM

/// A generation request turned into engine jobs, which also shapes their outputs into the
/// answer. The HTTP routes and `vllm run-batch` both go through it, so a body gets the same
/// answer either way.
protocol GenerationCall: Sendable {
    var jobs: [EngineJob] { get }
    /// How the answer is sent.
    var delivery: Delivery { get }
    /// The whole response from each job's last output (nil: the job produced none).
    func response(finals: [RequestOutput?]) -> JSONOut
    /// A fresh chunk maker for a streamed answer (it keeps per-stream state).
    func makeChunkSource() -> any ChunkSource
}

/// How a call's answer is sent.
enum Delivery: Sendable, Equatable {
    /// One JSON body.
    case json
    /// Server-Sent Events, chunk by chunk as tokens come.
    case stream
    /// The client asked for a stream, but the outputs are only known at the end (best_of
    /// above n, beam search): the whole response as one event, as vLLM does.
    case wholeAsOneEvent
}

/// The generation endpoints by path.
enum GenerationEndpoint: String, CaseIterable, Sendable {
    case completions = "/v1/completions"
    case chatCompletions = "/v1/chat/completions"

    /// The route below the `/v1` group.
    var route: String { String(rawValue.dropFirst("/v1/".count)) }

    /// The endpoint a `/invocations` body is for, told by its shape as vLLM does: `messages`
    /// makes it a chat request, `prompt` a completion.
    static func forInvocation(body: String) throws -> GenerationEndpoint {
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        if object?["messages"] != nil { return .chatCompletions }
        if object?["prompt"] != nil { return .completions }
        throw APIError.badRequest("Cannot find suitable handler for request. Expected one of: [ChatCompletionRequest, CompletionRequest]")
    }

    /// Checks and tokenizes a JSON body for this endpoint. Throws what the client should be
    /// told (see `APIError.from`).
    /// `cancel`, when raised, stops chat-template rendering.
    func call(_ context: ServerContext, body: String, cancel: CancellationFlag? = nil) throws -> any GenerationCall {
        try RequestFields.check(body: body, endpoint: self, context: context)
        switch self {
        case .completions:
            var request = try Routes.decode(CompletionRequest.self, body, samplingDefaults: context.samplingDefaults)
            request.sampling.params.structuredOutputs = try StructuredOutputFields.read(body: body)
            return try CompletionsCall(context: context, request: request)
        case .chatCompletions:
            var request = try Routes.decode(ChatRequest.self, body, samplingDefaults: context.samplingDefaults)
            request.sampling.params.structuredOutputs = try StructuredOutputFields.read(body: body)
            return try ChatCall(context: context, request: request, body: body, cancel: cancel)
        }
    }
}
