import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VLLM

/// The OpenAI-compatible HTTP server (`vllm serve`): Hummingbird on SwiftNIO, run in a
/// `ServiceGroup` so SIGTERM/SIGINT shut it down gracefully: it stops accepting, lets
/// in-flight requests finish (up to `gracefulShutdownSeconds`, then aborts them) and returns.
public enum OpenAIServer {
    /// Serves `engine` until a shutdown signal, then stops the engine and returns.
    /// - Parameter modelName: the model argument as given (the default served name).
    public static func run(engine: AsyncLLM, modelName: String, options: ServerOptions) async throws {
        var configured = Logger(label: "vllm.serve")
        configured.logLevel = Logger.Level(rawValue: options.logLevel) ?? .info
        let logger = configured
        engine.maxWaitingRequests = options.maxWaitingRequests
        let context = try ServerContext(engine: engine, modelName: modelName, options: options, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        Routes.register(on: router, context)
        let host = options.host, port = options.port
        let connections = ConnectionCount()
        let idle = TimeAmount.milliseconds(Int64(options.keepAliveTimeoutSeconds * 1000))
        let app = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: options.maxConnections.map { [ConnectionLimiter(count: connections, limit: $0)] } ?? [],
                idleTimeout: idle)),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("Serving \(context.modelNames[0]) on http://\(host):\(channel.localAddress?.port ?? port)")
            },
            logger: logger)
        var config = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        config.maximumGracefulShutdownDuration = .seconds(options.gracefulShutdownSeconds)
        let group = ServiceGroup(configuration: config)
        defer { engine.shutdown() }
        try await group.run()
    }
}
