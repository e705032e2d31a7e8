/// The head of a GGUF file (ggml's docs/gguf.md, version 3, little-endian): header, metadata
/// and tensor infos, padded to the alignment where the data section starts. The tensors' bytes
/// follow in the order given, each padded to the alignment.
public struct GGUFWriter {
    public struct TensorInfo {
        public let name: String
        /// ggml `ne` order: innermost dimension (a row's length) first.
        public let shape: [Int]
        public let type: UInt32
        public let byteCount: Int

        public init(name: String, shape: [Int], type: UInt32, byteCount: Int) {
            self.name = name
            self.shape = shape
            self.type = type
            self.byteCount = byteCount
        }
    }

    public var metadata: [(String, GGUFValue)]
    public var tensors: [TensorInfo]
    /// `general.alignment` when the metadata sets it (the spec's default is 32).
    public var alignment: Int

    public init(metadata: [(String, GGUFValue)], tensors: [TensorInfo], alignment: Int = 32) {
        self.metadata = metadata
        self.tensors = tensors
        self.alignment = alignment
    }

    /// Zero bytes that bring `count` bytes to the alignment.
    public func padding(after count: Int) -> [UInt8] { [UInt8](repeating: 0, count: (alignment - count % alignment) % alignment) }

    /// Everything before the first tensor's bytes.
    public func head() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += s.utf8 }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .uint32(x): u32(x)
            case let .int32(x): u32(UInt32(bitPattern: x))
            case let .float32(x): u32(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(x): string(x)
            case let .array(xs):
                // Element type of an empty array: uint8, as llama.cpp's writer does for none.
                u32(xs.first.map(Self.typeID) ?? 0); u64(UInt64(xs.count))
                xs.forEach(value)
            case let .uint64(x): u64(x)
            case let .int64(x): u64(UInt64(bitPattern: x))
            case let .float64(x): u64(x.bitPattern)
            }
        }
        u32(0x4655_4747); u32(3)
        u64(UInt64(tensors.count)); u64(UInt64(metadata.count))
        for (k, v) in metadata { string(k); u32(Self.typeID(v)); value(v) }
        // Offsets are relative to the data section; each tensor's bytes start aligned.
        var offset = 0
        for t in tensors {
            string(t.name); u32(UInt32(t.shape.count))
            t.shape.forEach { u64(UInt64($0)) }
            u32(t.type); u64(UInt64(offset))
            offset += t.byteCount + padding(after: t.byteCount).count
        }
        return out + padding(after: out.count)
    }

    /// `gguf_metadata_value_type`.
    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }
}
