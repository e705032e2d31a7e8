/// The layers one stage of a pipeline holds, as vLLM splits them (`get_pp_indices`): an even
/// share each, and the layers left over go one each to the stages before the last, from the
/// second-to-last backwards (the last stage also computes the LM head).
public struct PipelineStage: Sendable, Equatable {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index))
        self.index = index
        self.count = count
    }

    public var isFirst: Bool { index == 0 }
    public var isLast: Bool { index == count - 1 }

    /// This stage's layers of a model with `total` layers.
    public func layers(of total: Int) -> Range<Int> {
        var sizes = Array(repeating: total / count, count: count)
        let extra = total % count
        // With one stage more than the left-over layers, every stage but the last gets one.
        for i in 0..<extra { sizes[(count - 2 - i + count) % count] += 1 }
        let start = sizes[..<index].reduce(0, +)
        return start ..< start + sizes[index]
    }
}

/// What the stages of a pipeline pass each other: the residual stream of a step's tokens from
/// each stage to the next (between the ranks of the same tensor-parallel position), and the
/// logits from the last stage to the rank that samples. Every rank calls these in step order.
public protocol PipelineCommunicator: AnyObject, Sendable {
    var stage: PipelineStage { get }
    /// Whether this rank sends the last stage's logits (its tensor-parallel rank 0).
    var sendsLogits: Bool { get }
    /// Sends `count` floats to the next stage without waiting for it to take them.
    func sendToNextStage(_ buffer: UnsafePointer<Float>, count: Int)
    func receiveFromPreviousStage(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// The last stage's logits, to the rank that samples.
    func sendLogits(_ buffer: UnsafePointer<Float>, count: Int)
}
