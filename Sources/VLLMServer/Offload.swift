import Dispatch
import Synchronization

/// Raised when the request that started a piece of work is gone; the work polls it.
final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func cancel() { raised.store(true, ordering: .relaxed) }
    var isCancelled: Bool { raised.load(ordering: .relaxed) }
}

/// Runs a request's CPU-heavy preparation (chat-template rendering, tokenization) on a
/// dispatch thread. Swift's cooperative pool has one thread per core and answers every route,
/// `/health` included: synchronous work there, however long, would stall them all.
enum Offload {
    private static let queue = DispatchQueue(label: "vllm.request-preparation", qos: .userInitiated, attributes: .concurrent)

    /// Cancelling the awaiting task (the client went away) raises the flag `work` is given.
    static func run<T: Sendable>(_ work: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try work(flag) }) }
            }
        } onCancel: {
            flag.cancel()
        }
    }
}
