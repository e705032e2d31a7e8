import Foundation
import VLLM

/// One engine request of an API call: a completions call with a list of prompts makes one per
/// prompt; a chat call makes one.
struct EngineJob: Sendable {
    var requestID: String
    var promptTokenIDs: [Int]
    var params: SamplingParams
    var priority: Int
    /// The adapter the `model` field chose; nil: the base model.
    var lora: LoRARequest?
    /// The prompt as embeddings (`promptTokenIDs` are then placeholders of the same count).
    var promptEmbeddings: PromptEmbeddings?
}

/// An output of one of a call's engine requests, tagged with which one.
struct JobOutput: Sendable {
    var job: Int
    var output: RequestOutput
}

/// Submits a call's engine requests together and merges their output streams into one.
///
/// Every request is validated and queued before anything is streamed, so a bad prompt in a
/// list fails the whole call (and aborts the others) up front. When the consumer stops
/// listening, the merged stream's task is cancelled, which ends each per-request stream and so
/// aborts its request in the engine (freeing its KV blocks).
struct EngineRequests: Sendable {
    let engine: any EngineClient
    let metrics: ServerMetrics
    let jobs: [EngineJob]

    /// The request ids, for aborting them when the client goes away.
    var requestIDs: [String] { jobs.map(\.requestID) }

    func start() throws -> AsyncThrowingStream<JobOutput, Error> {
        var streams: [(replica: Int, outputs: AsyncThrowingStream<RequestOutput, Error>)] = []
        do {
            for job in jobs {
                let prompt: PromptInput = job.promptEmbeddings.map { .embeddings($0) } ?? .tokenIDs(job.promptTokenIDs)
                streams.append(try engine.submit(prompt, job.params,
                                                 requestID: job.requestID, priority: job.priority, lora: job.lora))
            }
        } catch {
            for job in jobs.prefix(streams.count) { engine.abort(requestID: job.requestID) }
            throw error
        }
        let (merged, continuation) = AsyncThrowingStream<JobOutput, Error>.makeStream()
        let metrics = self.metrics
        let jobs = self.jobs
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, stream) in streams.enumerated() {
                        let promptTokens = jobs[i].promptTokenIDs.count, params = jobs[i].params
                        group.addTask {
                            var timer = RequestTimer(metrics: metrics.engines[stream.replica], promptTokens: promptTokens, params: params)
                            for try await out in stream.outputs {
                                timer.observe(out)
                                continuation.yield(JobOutput(job: i, output: out))
                            }
                            timer.finish()
                        }
                    }
                    try await group.waitForAll()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { reason in
            if case .cancelled = reason { task.cancel() }
        }
        return merged
    }

    /// Runs the jobs to the end without a client to watch (`vllm run-batch`): each job's last
    /// output, in job order.
    func run() async throws -> [RequestOutput?] {
        try await Self.finals(of: start(), count: jobs.count)
    }

    /// Drains a merged stream, keeping each job's last output (nil where a job gave none).
    static func finals(of stream: AsyncThrowingStream<JobOutput, Error>, count: Int) async throws -> [RequestOutput?] {
        var finals = [RequestOutput?](repeating: nil, count: count)
        for try await event in stream { finals[event.job] = event.output }
        return finals
    }

    /// Aborts every request of the call (the client went away).
    func abort() {
        for id in requestIDs { engine.abort(requestID: id) }
    }
}
