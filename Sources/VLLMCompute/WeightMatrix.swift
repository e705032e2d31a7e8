import CKernels

/// A weight matrix used in place from the model file: `rows` rows of `columns` elements, each
/// row a whole number of `type` blocks (ggml layout; y = W·x).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let data: UnsafeRawPointer
    public let rows: Int
    public let columns: Int
    /// The rows repacked for the int8 kernels, where the model loaded them so.
    public private(set) var repacked: RepackedWeight?

    public init(type: GGMLType, data: UnsafeRawPointer, rows: Int, columns: Int) {
        precondition(columns % type.blockElements == 0)
        self.type = type
        self.data = data
        self.rows = rows
        self.columns = columns
    }

    /// This matrix with its rows also repacked for the int8 kernels, where this CPU has a fast
    /// kernel for the repacked type (otherwise unchanged).
    public func repacked(pool: ThreadPool) -> WeightMatrix {
        var w = self
        w.repacked = RepackedWeight(self, pool: pool)
        return w
    }

    public var rowBytes: Int { columns / type.blockElements * type.blockBytes }

    /// Rows `range` of this matrix, in place.
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows && repacked == nil)
        return WeightMatrix(type: type, data: data + range.lowerBound * rowBytes, rows: range.count, columns: columns)
    }

    /// Dequantizes row `r` into `out` (`columns` floats), exactly as ggml defines the values.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        vk_dequantize_row(Int32(type.rawValue), data + r * rowBytes, out, Int64(columns))
    }
}
