import Hummingbird
import Logging

/// `vllm run-batch --enable-metrics --url --port`: the batch's Prometheus metrics served over
/// HTTP while it runs. vLLM starts prometheus_client's HTTP server for this, which answers
/// every GET path with the metrics; so does this listener.
enum MetricsListener {
    /// Listens on `host:port` and returns once it accepts connections (a port in use is an
    /// error here, before the batch starts); cancel the returned task to stop it.
    static func start(_ context: ServerContext, host: String, port: Int) async throws -> Task<Void, Never> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/") { _, _ in Routes.metricsResponse(context) }
        router.get("**") { _, _ in Routes.metricsResponse(context) }
        let (events, sink) = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { sink.yield(.success($0.localAddress?.port ?? port)) }, logger: context.logger)
        let task = Task {
            do { try await app.runService(gracefulShutdownSignals: []) } catch { sink.yield(.failure(error)) }
            sink.finish()
        }
        for await event in events {
            switch event {
            case .success(let bound):
                context.logger.notice("Serving the batch's metrics on http://\(host):\(bound)/metrics")
                return task
            case .failure(let error):
                throw BatchMetricsError(message: "cannot serve metrics on \(host):\(port): \(error)")
            }
        }
        throw BatchMetricsError(message: "the metrics listener on \(host):\(port) stopped before it started")
    }
}

public struct BatchMetricsError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
