import Hummingbird
import NIOCore
import VLLM

/// Something that turns a call's engine outputs into streamed chunks.
protocol ChunkSource {
    func openingChunks() -> [JSONOut]
    func chunks(for event: JobOutput) -> [JSONOut]
    func finalChunks() -> [JSONOut]
}

extension CompletionsCall.Streamer: ChunkSource {
    func openingChunks() -> [JSONOut] { [] }
}

extension ChatStreamer: ChunkSource {}

/// Runs a call's engine requests and answers with one JSON body or a Server-Sent Events stream.
///
/// Both watch the connection while the engine works: when the client goes away (the inbound
/// side closes), the call's requests are aborted at once, whether they are still queued,
/// prefilling or decoding, so their KV blocks go back to the pool. Such responses close the
/// connection when done, as watching the inbound side consumes it.
enum GenerationResponder {
    /// Answers a call as it asked: one JSON body, a stream, or the whole response as one event.
    /// `holding`: kept until the response is written (a stream's, until its end).
    static func respond(_ request: Request, _ context: ServerContext, _ call: any GenerationCall,
                        holding: ServerLoadTicket? = nil) async throws -> Response {
        switch call.delivery {
        case .stream:
            return try sse(request, context, jobs: call.jobs, holding: holding) { call.makeChunkSource() }
        case .json:
            let finals = try await collect(request, context, jobs: call.jobs)
            return Response(status: .ok, headers: [.contentType: "application/json", .connection: "close"],
                            body: ResponseBody(byteBuffer: call.response(finals: finals).buffer))
        case .wholeAsOneEvent:
            let finals = try await collect(request, context, jobs: call.jobs)
            var events = event(call.response(finals: finals))
            events.writeString("data: [DONE]\n\n")
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                            body: ResponseBody(byteBuffer: events))
        }
    }

    /// Runs the jobs to the end, aborting them if the client goes away first.
    private static func collect(_ request: Request, _ context: ServerContext, jobs: [EngineJob]) async throws -> [RequestOutput?] {
        let requests = EngineRequests(engine: context.engine, metrics: context.metrics, jobs: jobs)
        let stream = try requests.start()
        return try await request.body.consumeWithInboundCloseHandler({ _ in
            try await EngineRequests.finals(of: stream, count: jobs.count)
        }, onInboundClosed: { requests.abort() })
    }

    /// Starts the requests now (so a refused one is still a plain 400) and streams their chunks.
    private static func sse(_ request: Request, _ context: ServerContext, jobs: [EngineJob], holding: ServerLoadTicket?,
                    makeSource: @escaping @Sendable () -> any ChunkSource) throws -> Response {
        let requests = EngineRequests(engine: context.engine, metrics: context.metrics, jobs: jobs)
        let stream = try requests.start()
        let logger = context.logger
        let body = ResponseBody { writer in
            defer { withExtendedLifetime(holding) {} }
            do {
                try await request.body.consumeWithInboundCloseHandler({ _ in
                    let source = makeSource()
                    for chunk in source.openingChunks() { try await writer.write(event(chunk)) }
                    do {
                        for try await output in stream {
                            for chunk in source.chunks(for: output) { try await writer.write(event(chunk)) }
                        }
                        for chunk in source.finalChunks() { try await writer.write(event(chunk)) }
                    } catch let error as AsyncLLMError {
                        // The engine stopped under the request: tell the client in-band.
                        try await writer.write(event(APIError.from(error).body))
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                }, onInboundClosed: { requests.abort() })
            } catch {
                // Writing failed: the client is gone. Free its requests now, not at the next step.
                requests.abort()
                logger.debug("stream ended early: \(error)")
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                        body: body)
    }

    private static func event(_ json: JSONOut) -> ByteBuffer {
        var text = "data: "
        json.write(into: &text)
        text += "\n\n"
        return ByteBuffer(string: text)
    }
}
