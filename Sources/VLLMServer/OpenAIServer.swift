import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VLLM

/// The OpenAI-compatible HTTP server (`vllm serve`): Hummingbird on SwiftNIO, run in a
/// `ServiceGroup` so SIGTERM/SIGINT shut it down gracefully: it drains (`/health` 503, new
/// generation requests refused, the engine's requests run to their end), stops accepting, lets
/// in-flight responses finish (all within `gracefulShutdownSeconds`, then aborts them) and returns.
public enum OpenAIServer {
    /// Serves `engine` until a shutdown signal, then stops the engine and returns.
    /// - Parameter modelName: the model argument as given (the default served name).
    public static func run(engine: any EngineClient, modelName: String, options: ServerOptions) async throws {
        var configured = Logger(label: "vllm.serve")
        configured.logLevel = Logger.Level(rawValue: options.logLevel) ?? .info
        let logger = configured
        engine.maxWaitingRequests = options.maxWaitingRequests
        let context = try ServerContext(engine: engine, modelName: modelName, options: options, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        Routes.register(on: router, context)
        let host = options.host, port = options.port
        let address: BindAddress = options.unixSocket.map { .unixDomainSocket(path: $0) } ?? .hostname(host, port: port)
        let socketURL = options.unixSocket.map { "unix:\($0)" }
        let connections = ConnectionCount()
        let idle = TimeAmount.milliseconds(Int64(options.keepAliveTimeoutSeconds * 1000))
        let app = Application(
            responder: FrontDoor(inner: router.buildResponder(), rootPath: options.rootPath,
                                 requestIDHeaders: options.enableRequestIDHeaders),
            server: .http1(configuration: .init(
                additionalChannelHandlers: options.maxConnections.map { [ConnectionLimiter(count: connections, limit: $0)] } ?? [],
                idleTimeout: idle)),
            configuration: .init(address: address, serverName: nil),
            onServerRunning: { channel in
                logger.notice("Serving \(context.modelNames[0]) on \(socketURL ?? "http://\(host):\(channel.localAddress?.port ?? port)")")
            },
            logger: logger)
        // A group shuts its services down last to first: draining comes before the listener closes.
        var config = ServiceGroupConfiguration(services: [app, Drain(context: context)],
                                               gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        config.maximumGracefulShutdownDuration = .seconds(options.gracefulShutdownSeconds)
        let group = ServiceGroup(configuration: config)
        defer { engine.shutdown() }
        try await group.run()
    }
}

/// The first step of a graceful shutdown: with the listener still open, so load balancers and
/// probes see it, `/health` turns 503 and new generation requests get 503 while the engine
/// finishes what it has.
private struct Drain: Service {
    let context: ServerContext

    func run() async throws {
        try await gracefulShutdown()
        context.draining.store(true, ordering: .relaxed)
        context.logger.notice("Draining: \(context.engine.requestsInFlight) engine requests in flight; /health answers 503")
        while !Task.isCancelled {
            // Requests as submitted, not as of the last step: the first step of a request that
            // just came may still be running.
            if context.engine.requestsInFlight == 0 { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
