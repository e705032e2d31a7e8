import CMPI
import VLLMModels

/// A pipeline over MPI ranks laid out as vLLM lays them: tensor-parallel ranks innermost, so
/// stage s holds world ranks s·tp ..< (s+1)·tp and each sends its residual stream to the rank
/// tp above it. The last stage's tensor-parallel rank 0 samples (it holds a copy of the
/// sampling state, `RequestSampler`) and sends world rank 0 the tokens.
///
/// Rank 0 starts a step's send without waiting and, until the next stage has taken it, takes
/// any tokens the last stage sends meanwhile (kept for `receiveSampled`): the last stage may be
/// sending an earlier step's tokens while the next stage still works on that step, and two
/// blocking sends would wait for each other.
final class MPIPipelineGroup: PipelineCommunicator, @unchecked Sendable {
    private static let hiddenTag = 11, sampledTag = 12
    let world: MPICommunicator
    let stage: PipelineStage
    let tensorParallelSize: Int
    /// Sampled tokens that arrived before rank 0 asked for them, oldest first.
    private var early: [[UInt8]] = []
    private(set) var bytesSent = 0

    init(world: MPICommunicator, tensorParallelSize: Int, partition: [Int]?) {
        self.world = world
        self.tensorParallelSize = tensorParallelSize
        stage = PipelineStage(index: world.rank / tensorParallelSize, count: world.size / tensorParallelSize, partition: partition)
    }

    private var lastStageSender: Int { (stage.count - 1) * tensorParallelSize }
    /// Whether this rank samples: the last stage's tensor-parallel rank 0.
    var samples: Bool { world.rank == lastStageSender }
    var sendsLogits: Bool { false }

    func sendToNextStage(_ buffer: UnsafePointer<Float>, count: Int) {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count * 4)
        let next = world.rank + tensorParallelSize
        bytesSent += bytes.count
        guard world.rank == 0 else { world.send(bytes, to: next, tag: Self.hiddenTag); return }
        var request = world.startSend(bytes, to: next, tag: Self.hiddenTag)
        var backoff = PollBackoff(longestSleep: 20)
        while !world.test(&request) {
            if let message = takeSampled() {
                early.append(message)
                backoff.reset()
            } else {
                backoff.wait()
            }
        }
    }

    func receiveFromPreviousStage(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        world.receive(UnsafeMutableRawBufferPointer(start: buffer, count: count * 4), from: world.rank - tensorParallelSize, tag: Self.hiddenTag)
    }

    func sendLogits(_ buffer: UnsafePointer<Float>, count: Int) {
        preconditionFailure("the last stage samples: it sends tokens, not logits")
    }

    /// On the sampling rank: a step's tokens (encoded) to rank 0.
    func sendSampled(_ message: [UInt8]) {
        bytesSent += message.count
        message.withUnsafeBytes { world.send($0, to: 0, tag: Self.sampledTag) }
    }

    /// On rank 0: the oldest step's tokens (encoded).
    func receiveSampled() -> [UInt8] {
        if !early.isEmpty { return early.removeFirst() }
        var backoff = PollBackoff(longestSleep: 20)
        while true {
            if let message = takeSampled() { return message }
            backoff.wait()
        }
    }

    private func takeSampled() -> [UInt8]? {
        guard let size = world.probe(from: lastStageSender, tag: Self.sampledTag) else { return nil }
        var message = [UInt8](repeating: 0, count: size)
        message.withUnsafeMutableBytes { world.receive($0, from: lastStageSender, tag: Self.sampledTag) }
        return message
    }
}
