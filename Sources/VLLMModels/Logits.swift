/// Next-token logits of a forward batch, one row of `vocabSize` floats per input that asked for
/// them. A view into the model's own buffer: valid until the model's next `forward`.
public struct Logits {
    public let base: UnsafePointer<Float>
    public let count: Int
    public let vocabSize: Int

    public init(base: UnsafePointer<Float>, count: Int, vocabSize: Int) {
        self.base = base
        self.count = count
        self.vocabSize = vocabSize
    }

    public subscript(row: Int) -> UnsafeBufferPointer<Float> {
        precondition((0..<count).contains(row), "logits row \(row) out of range")
        return UnsafeBufferPointer(start: base + row * vocabSize, count: vocabSize)
    }
}
