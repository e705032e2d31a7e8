import Foundation
import Hummingbird
import NIOCore
import Synchronization
import VLLM

/// The HTTP routes of the OpenAI-compatible server.
enum Routes {
    static func register(on router: Router<BasicRequestContext>, _ ctx: ServerContext) {
        router.get("/health") { _, _ in Response(status: ctx.healthy ? .ok : .serviceUnavailable) }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/version") { _, _ in jsonResponse(.object([("version", .string(UtilityHandlers.vllmAPIVersion))])) }
        if ctx.options.enableServerLoadTracking {
            router.get("/load") { _, _ in jsonResponse(.object([("server_load", .int(ctx.serverLoad.load(ordering: .relaxed)))])) }
        }
        router.get("/metrics") { _, _ in metricsResponse(ctx) }
        // Unlike vLLM, the key guards these too: they render chat templates a request may bring
        // and tokenize whole bodies, work nobody without the key should be able to ask for.
        let utility = router.group()
        if let key = ctx.options.apiKey { utility.add(middleware: APIKeyMiddleware(key: key)) }
        utility.post("/tokenize") { request, _ in
            await answer {
                let body = try await readBody(request, ctx)
                let req = try decode(TokenizeRequest.self, body)
                return jsonResponse(try await Offload.run { cancel in try UtilityHandlers.tokenize(ctx, req, body: body, cancel: cancel) })
            }
        }
        utility.post("/detokenize") { request, _ in
            await answer { jsonResponse(try UtilityHandlers.detokenize(ctx, try decode(DetokenizeRequest.self, try await readBody(request, ctx)))) }
        }

        if ctx.options.enableTokenizerInfoEndpoint {
            utility.get("/tokenizer_info") { _, _ in await answer { jsonResponse(try TokenizerInfoEndpoint.json(ctx)) } }
        }
        if ctx.options.enableSleepMode { SleepEndpoints.register(on: utility, ctx) }
        // SageMaker's single route: the body's shape picks the endpoint (vLLM's /invocations).
        utility.post("/invocations") { request, _ in
            await answer {
                var request = request
                let body = try await readBody(&request, ctx)
                return try await generate(GenerationEndpoint.forInvocation(body: body), request, body, ctx)
            }
        }

        let v1 = router.group("v1")
        if let key = ctx.options.apiKey { v1.add(middleware: APIKeyMiddleware(key: key)) }
        v1.get("models") { _, _ in jsonResponse(UtilityHandlers.models(ctx)) }
        if ctx.options.allowRuntimeLoRAUpdating { LoRAEndpoints.register(on: v1, ctx) }
        for endpoint in GenerationEndpoint.allCases {
            v1.post(RouterPath(stringLiteral: endpoint.route)) { request, _ in
                await answer {
                    var request = request
                    let body = try await readBody(&request, ctx)
                    return try await generate(endpoint, request, body, ctx)
                }
            }
        }
    }

    /// One generation request, from its body to the response (JSON or a stream), counted in
    /// `/load` until the response is written.
    private static func generate(_ endpoint: GenerationEndpoint, _ request: Request, _ body: String,
                                 _ ctx: ServerContext) async throws -> Response {
        if ctx.draining.load(ordering: .relaxed) { throw APIError.unavailable("The server is shutting down.") }
        let inFlight = ctx.options.enableServerLoadTracking ? ServerLoadTicket(ctx) : nil
        let call = try await Offload.run { cancel in try endpoint.call(ctx, body: body, cancel: cancel) }
        return try await GenerationResponder.respond(request, ctx, call, holding: inFlight)
    }

    /// Runs a handler; whatever it throws becomes an OpenAI-style error response.
    static func answer(_ handler: () async throws -> Response) async -> Response {
        do { return try await handler() } catch { return APIError.from(error).response }
    }

    static func jsonResponse(_ json: JSONOut) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: json.buffer))
    }

    /// Collects the body into the request (generation handlers watch the connection afterwards).
    /// A body over the limit is a 413, refused from its `Content-Length` before it is read when
    /// the client sends one.
    static func readBody(_ request: inout Request, _ ctx: ServerContext) async throws -> String {
        let limit = ctx.bodyLimit
        let tooLarge = APIError(status: .contentTooLarge, message: "The request body exceeds the limit of \(limit) bytes (--max-request-body-bytes).",
                                type: "BadRequestError")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        do {
            return String(buffer: try await request.collectBody(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
    }

    static func readBody(_ request: Request, _ ctx: ServerContext) async throws -> String {
        var request = request
        return try await readBody(&request, ctx)
    }

    /// `samplingDefaults`: what absent sampling fields take (the model's generation config).
    static func decode<T: Decodable>(_ type: T.Type, _ body: String, samplingDefaults: SamplingParams? = nil) throws -> T {
        let decoder = JSONDecoder()
        if let d = samplingDefaults { decoder.userInfo[SamplingParams.defaultsKey] = d }
        return try decoder.decode(T.self, from: Data(body.utf8))
    }
}

extension Routes {
    /// The Prometheus text exposition of the server's metrics.
    static func metricsResponse(_ ctx: ServerContext) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: ctx.metrics.scrape(ctx.engine.replicaStats, loras: ctx.engine.loraAdapters))))
    }
}
