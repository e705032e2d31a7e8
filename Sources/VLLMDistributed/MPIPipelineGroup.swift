import CMPI
import VLLMModels

/// A pipeline over MPI ranks laid out as vLLM lays them: tensor-parallel ranks innermost, so
/// stage s holds world ranks s·tp ..< (s+1)·tp and each sends its residual stream to the rank
/// tp above it. The last stage's tensor-parallel rank 0 sends the logits to world rank 0, which
/// samples.
///
/// Rank 0 starts a step's send without waiting and, until the next stage has taken it, takes
/// any logits the last stage sends meanwhile (kept for `receiveLogits`): the last stage may be
/// sending an earlier step's logits while the next stage still works on that step, and two
/// blocking sends would wait for each other.
final class MPIPipelineGroup: PipelineCommunicator, @unchecked Sendable {
    private static let hiddenTag = 11, logitsTag = 12
    let world: MPICommunicator
    let stage: PipelineStage
    let tensorParallelSize: Int
    /// Logits that arrived before rank 0 asked for them, oldest first.
    private var early: [[Float]] = []
    private(set) var bytesSent = 0

    init(world: MPICommunicator, tensorParallelSize: Int, partition: [Int]?) {
        self.world = world
        self.tensorParallelSize = tensorParallelSize
        stage = PipelineStage(index: world.rank / tensorParallelSize, count: world.size / tensorParallelSize, partition: partition)
    }

    private var lastStageSender: Int { (stage.count - 1) * tensorParallelSize }

    func sendToNextStage(_ buffer: UnsafePointer<Float>, count: Int) {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count * 4)
        let next = world.rank + tensorParallelSize
        bytesSent += bytes.count
        guard world.rank == 0 else { world.send(bytes, to: next, tag: Self.hiddenTag); return }
        var request = world.startSend(bytes, to: next, tag: Self.hiddenTag)
        var backoff = PollBackoff(longestSleep: 20)
        while !world.test(&request) {
            if let size = world.probe(from: lastStageSender, tag: Self.logitsTag) {
                var logits = [Float](repeating: 0, count: size / 4)
                logits.withUnsafeMutableBytes { world.receive($0, from: lastStageSender, tag: Self.logitsTag) }
                early.append(logits)
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
        bytesSent += count * 4
        world.send(UnsafeRawBufferPointer(start: buffer, count: count * 4), to: 0, tag: Self.logitsTag)
    }

    /// On rank 0: the oldest step's logits (`count` floats) into `buffer`.
    func receiveLogits(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        if !early.isEmpty {
            let logits = early.removeFirst()
            precondition(logits.count == count, "the last stage sent \(logits.count) logits, rank 0 expected \(count)")
            buffer.update(from: logits, count: count)
            return
        }
        world.receive(UnsafeMutableRawBufferPointer(start: buffer, count: count * 4), from: lastStageSender, tag: Self.logitsTag)
    }
}
