import Foundation

/// The layers one stage of a pipeline holds, as vLLM splits them (`get_pp_indices`): an even
/// share each, and the layers left over go one each to the stages before the last, from the
/// second-to-last backwards (the last stage also computes the LM head).
/// `partition` (vLLM's `VLLM_PP_LAYER_PARTITION`, e.g. "13,11") gives each stage's layer count
/// instead: the last stage also computes the LM head, which an even split leaves it to carry.
public struct PipelineStage: Sendable, Equatable {
    public let index: Int
    public let count: Int
    public let partition: [Int]?

    public init(index: Int, count: Int, partition: [Int]? = nil) {
        precondition(count >= 1 && (0..<count).contains(index))
        self.index = index
        self.count = count
        self.partition = partition
    }

    public var isFirst: Bool { index == 0 }
    public var isLast: Bool { index == count - 1 }

    /// This stage's layers of a model with `total` layers.
    public func layers(of total: Int) throws(ModelLoadError) -> Range<Int> {
        var sizes = Array(repeating: total / count, count: count)
        if let partition {
            guard partition.count == count, partition.allSatisfy({ $0 > 0 }), partition.reduce(0, +) == total else {
                throw .unsupported(path: "VLLM_PP_LAYER_PARTITION", reason: "\(partition.map(String.init).joined(separator: ",")) must give each of the \(count) pipeline stages at least one layer, \(total) in all")
            }
            sizes = partition
        } else {
            // With one stage more than the left-over layers, every stage but the last gets one.
            for i in 0 ..< total % count { sizes[(count - 2 - i + count) % count] += 1 }
        }
        let start = sizes[..<index].reduce(0, +)
        return start ..< start + sizes[index]
    }

    /// `VLLM_PP_LAYER_PARTITION`'s counts ("13,11"), or nil when it is unset; throws when it is
    /// not a list of numbers.
    public static func partition(from environment: [String: String]) throws(ModelLoadError) -> [Int]? {
        guard let text = environment["VLLM_PP_LAYER_PARTITION"] else { return nil }
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
            throw .unsupported(path: "VLLM_PP_LAYER_PARTITION", reason: "\(text) is not a comma-separated list of layer counts")
        }
        return parts.map { $0! }
    }
}

/// What the stages of a pipeline pass each other: the residual stream of a step's tokens from
/// each stage to the next (between the ranks of the same tensor-parallel position), and the
/// logits from the last stage to the rank that samples. Every rank calls these in step order.
public protocol PipelineCommunicator: AnyObject, Sendable {
    var stage: PipelineStage { get }
    /// Sends `count` floats to the next stage without waiting for it to take them.
    func sendToNextStage(_ buffer: UnsafePointer<Float>, count: Int)
    func receiveFromPreviousStage(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// The last stage's logits (from its tensor-parallel rank 0), to the rank that samples.
    func sendLogits(_ buffer: UnsafePointer<Float>, count: Int)
    /// False when the last stage samples itself: its forward returns the logits instead.
    var sendsLogits: Bool { get }
}

extension PipelineCommunicator {
    public var sendsLogits: Bool { true }
}
