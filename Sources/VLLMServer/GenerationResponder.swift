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
    static func json(_ request: Request, _ context: ServerContext, jobs: [EngineJob],
                     build: ([RequestOutput?]) -> JSONOut) async throws -> Response {
        let requests = EngineRequests(engine: context.engine, metrics: context.metrics, jobs: jobs)
        let stream = try requests.start()
        let count = jobs.count
        let finals = try await request.body.consumeWithInboundCloseHandler({ _ in
            var finals = [RequestOutput?](repeating: nil, count: count)
            for try await event in stream { finals[event.job] = event.output }
            return finals
        }, onInboundClosed: { requests.abort() })
        return Response(status: .ok, headers: [.contentType: "application/json", .connection: "close"],
                        body: ResponseBody(byteBuffer: build(finals).buffer))
    }

    /// Starts the requests now (so a refused one is still a plain 400) and streams their chunks.
    static func sse(_ request: Request, _ context: ServerContext, jobs: [EngineJob],
                    makeSource: @escaping @Sendable () -> any ChunkSource) throws -> Response {
        let requests = EngineRequests(engine: context.engine, metrics: context.metrics, jobs: jobs)
        let stream = try requests.start()
        let logger = context.logger
        let body = ResponseBody { writer in
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
