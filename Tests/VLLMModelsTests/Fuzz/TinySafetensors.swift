/// Builds safetensors files (layout per the huggingface/safetensors README: u64 little-endian
/// header length N, N bytes of JSON, then the data buffer the `data_offsets` index).
struct SafetensorsWriter {
    struct Tensor {
        let name: String
        let dtype: String
        /// Row-major, outermost first.
        let shape: [Int]
        let data: [UInt8]
    }

    var tensors: [Tensor] = []
    var metadata: [String: String] = [:]

    /// The header JSON, tensors laid out back to back in the given order.
    func headerJSON() -> String {
        var entries: [String] = []
        if !metadata.isEmpty {
            entries.append("\"__metadata__\": {" + metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}")
        }
        var at = 0
        for t in tensors {
            entries.append("\"\(t.name)\": {\"dtype\": \"\(t.dtype)\", \"shape\": \(t.shape), \"data_offsets\": [\(at), \(at + t.data.count)]}")
            at += t.data.count
        }
        return "{" + entries.joined(separator: ", ") + "}"
    }

    var data: [UInt8] { Array(tensors.map(\.data).joined()) }

    func bytes() -> [UInt8] { Self.file(header: headerJSON(), data: data) }

    /// A file from a header text and a data buffer; the length field always matches the text.
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
    }

    static func f32(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    /// Three small tensors of the three float dtypes the loader converts, plus metadata.
    static func sample() -> SafetensorsWriter {
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        w.tensors = [
            Tensor(name: "a", dtype: "F32", shape: [2, 3], data: f32([1, -2, 3.5, 0, 1e-3, -7])),
            Tensor(name: "b", dtype: "F16", shape: [4], data: [0, 0x3C, 0, 0xC0, 0x00, 0x38, 0xFF, 0x7B]),
            Tensor(name: "c.weight", dtype: "BF16", shape: [2, 2], data: [0x80, 0x3F, 0, 0, 0x80, 0xBF, 0x40, 0x40]),
        ]
        return w
    }
}
