import Logging
import VLLM

/// `vllm run-batch`: runs an OpenAI batch file offline through the same request handling as
/// the server, with every line's requests in the engine together so they batch.
///
/// Each input line gets one output line, in input order, shaped as vLLM's `BatchRequestOutput`:
/// `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`. A line
/// that fails (bad JSON, unknown url, a body the server would refuse, a stream request) gets
/// its error there and the batch goes on.
public enum BatchRunner {
    /// What a run did.
    public struct Summary: Sendable {
        public var lines = 0
        public var failed = 0
    }

    /// Runs `lines` (blank ones skipped) and hands each output line to `write` in input order,
    /// as soon as it and every line before it are done.
    ///
    /// - Parameters:
    ///   - modelName: the model argument as given (the default served name).
    ///   - options: the served names and request logging (the HTTP settings are unused).
    ///   - maxInFlight: lines running at once; later lines wait, which bounds memory.
    /// vLLM validates every line's shape before it runs any: a line that is no JSON object or
    /// has no `custom_id` fails the whole batch (its output could not be matched to it). Other
    /// faults (url, body, model) get an error output line. Returns the message for the first
    /// such line, numbered from 1.
    public static func firstMalformedLine(_ lines: [String]) -> String? {
        for (n, text) in lines.enumerated() where !text.allSatisfy(\.isWhitespace) {
            do { _ = try BatchInputLine(parsing: text) } catch where error.customID == nil {
                return "line \(n + 1): \(error.message)"
            } catch {}
        }
        return nil
    }

    ///   - metricsAddress: with `--enable-metrics`, where `/metrics` is served while the batch runs.
    public static func run(engine: any EngineClient, modelName: String, options: ServerOptions, lines: [String],
                           maxInFlight: Int, metricsAddress: (host: String, port: Int)? = nil,
                           write: (String) throws -> Void) async throws -> Summary {
        var configured = Logger(label: "vllm.run-batch")
        configured.logLevel = Logger.Level(rawValue: options.logLevel) ?? .info
        let context = try ServerContext(engine: engine, modelName: modelName, options: options, logger: configured)
        var listener: Task<Void, Never>?
        if let address = metricsAddress { listener = try await MetricsListener.start(context, host: address.host, port: address.port) }
        defer { listener?.cancel() }
        let inputs = lines.filter { !$0.allSatisfy(\.isWhitespace) }
        var summary = Summary()
        var done: [Int: (String, Bool)] = [:]
        var next = 0
        try await withThrowingTaskGroup(of: (Int, String, Bool).self) { group in
            var submitted = 0
            func submit() {
                let i = submitted, text = inputs[i]
                group.addTask { let (out, ok) = await answer(text, context); return (i, out, ok) }
                submitted += 1
            }
            while submitted < min(max(1, maxInFlight), inputs.count) { submit() }
            while let (i, out, ok) = try await group.next() {
                done[i] = (out, ok)
                if submitted < inputs.count { submit() }
                while let (out, ok) = done.removeValue(forKey: next) {
                    try write(out)
                    summary.lines += 1
                    if !ok { summary.failed += 1 }
                    next += 1
                }
            }
        }
        return summary
    }

    /// One line's output line, and whether it succeeded.
    static func answer(_ text: String, _ context: ServerContext) async -> (String, Bool) {
        let line: BatchInputLine
        do { line = try BatchInputLine(parsing: text) } catch {
            return (output(context, customID: error.customID, status: 400, body: .null, error: .string(error.message)), false)
        }
        do {
            let call = try line.endpoint.call(context, body: line.body)
            guard call.delivery == .json else {
                // vLLM's words: a batch answers each line with one response body.
                return (output(context, customID: line.customID, status: 400, body: .null,
                               error: .string("Request must not be sent in stream mode")), false)
            }
            let finals = try await EngineRequests(engine: context.engine, metrics: context.metrics, jobs: call.jobs).run()
            return (output(context, customID: line.customID, status: 200, body: call.response(finals: finals), error: .null), true)
        } catch {
            // What the server would answer with an error status: vLLM's ErrorResponse.
            let e = APIError.from(error)
            return (output(context, customID: line.customID, status: e.status.code, body: .null, error: e.body), false)
        }
    }

    private static func output(_ context: ServerContext, customID: String?, status: Int, body: JSONOut, error: JSONOut) -> String {
        JSONOut.object([
            ("id", .string(context.makeID("vllm-"))),
            ("custom_id", .string(customID)),
            ("response", .object([
                ("status_code", .int(status)), ("request_id", .string(context.makeID("vllm-batch-"))), ("body", body),
            ])),
            ("error", error),
        ]).text()
    }
}
