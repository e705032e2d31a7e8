import VLLMCompute

/// Where one tensor lives inside a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ggml `ne` order: `shape[0]` is the innermost (contiguous) dimension.
    public let shape: [Int]
    public let type: GGMLType
    /// Absolute byte offset in the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, memory-mapped GGUF file (spec: ggml's docs/gguf.md, versions 2 and 3).
/// Tensor data is never copied: `data(of:)` points into the mapping.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let tensorIndex: [String: Int]

    public var path: String { file.path }

    public convenience init(path: String) throws(ModelLoadError) {
        try self.init(file: MappedFile(path: path))
    }

    /// The same file with every tensor's bytes zero (vLLM's `--load-format dummy`): zero is a
    /// valid value in every GGML type (zero scales), so the model runs and gives equal logits.
    /// The weights are never read; the zero pages take no memory until written.
    public func withZeroWeights() throws(ModelLoadError) -> GGUFFile {
        try GGUFFile(file: MappedFile(zeroedFrom: tensors.map(\.fileOffset).min() ?? file.count, of: file))
    }

    public init(file: MappedFile) throws(ModelLoadError) {
        self.file = file
        var c = GGUFCursor(base: file.base, count: file.count, path: file.path)
        let magic = try c.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else { // "GGUF"
            throw .corrupt(path: file.path, reason: "bad magic 0x\(String(magic, radix: 16)) (not a GGUF file)")
        }
        version = try c.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw .unsupported(path: file.path, reason: "GGUF version \(version) (supported: 2, 3)")
        }
        let tensorCount = try c.readCount("tensor count", minimumElementSize: 24)
        guard tensorCount <= Self.maxTensors else {
            throw .corrupt(path: file.path, reason: "tensor count \(tensorCount) is above \(Self.maxTensors)")
        }
        let kvCount = try c.readCount("metadata count", minimumElementSize: 12)

        var metadata: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            let key = try c.readString("metadata key #\(i)", maxBytes: Self.maxKeyBytes)
            let type = try c.read(UInt32.self, "type of \(key)")
            let value = try c.readValue(type: type, key: key)
            // A second value for a key would silently win over the first; llama.cpp refuses it too.
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw .corrupt(path: file.path, reason: "metadata key \(key) appears twice")
            }
        }
        self.metadata = metadata
        alignment = try Self.alignment(metadata["general.alignment"], path: file.path)

        var raw: [(name: String, shape: [Int], type: UInt32, offset: UInt64)] = []
        // Reserved only up to a typical model's count: the claimed one is not yet backed by data.
        raw.reserveCapacity(min(tensorCount, 4096))
        for i in 0..<tensorCount {
            let name = try c.readString("name of tensor #\(i)", maxBytes: Self.maxTensorNameBytes)
            let nDims = try c.read(UInt32.self, "dimension count of \(name)")
            guard (1...4).contains(nDims) else {
                throw .corrupt(path: file.path, reason: "tensor \(name) has \(nDims) dimensions")
            }
            var shape: [Int] = []
            for _ in 0..<nDims {
                let d = try c.read(UInt64.self, "shape of \(name)")
                guard d > 0, d < 1 << 40 else { throw .corrupt(path: file.path, reason: "tensor \(name) has dimension \(d)") }
                shape.append(Int(d))
            }
            let type = try c.read(UInt32.self, "type of \(name)")
            let offset = try c.read(UInt64.self, "offset of \(name)")
            raw.append((name, shape, type, offset))
        }

        let dataStart = (c.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for t in raw {
            guard let type = GGMLType(rawValue: t.type) else {
                let supported = GGMLType.allCases.map(\.description).joined(separator: ", ")
                let reason = "tensor \(t.name) has type \(GGMLType.describe(id: t.type)), which this engine does not support (supported: \(supported))"
                throw GGMLType.name(id: t.type) == nil ? .corrupt(path: file.path, reason: reason) : .unsupported(path: file.path, reason: reason)
            }
            let (elements, overflow) = t.shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow, t.shape[0] % type.blockElements == 0, let bytes = type.byteCount(elements: elements) else {
                throw .corrupt(path: file.path, reason: "tensor \(t.name) shape \(t.shape) does not fit \(type) blocks")
            }
            // offset <= file size first, so neither the sum nor the difference below can overflow.
            guard t.offset % UInt64(alignment) == 0, t.offset <= UInt64(file.count),
                  bytes <= file.count, dataStart + Int(t.offset) <= file.count - bytes else {
                throw .corrupt(path: file.path, reason: "tensor \(t.name) (offset \(t.offset), \(bytes) bytes) lies outside the file")
            }
            guard index[t.name] == nil else { throw .corrupt(path: file.path, reason: "tensor \(t.name) appears twice") }
            index[t.name] = tensors.count
            tensors.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: type,
                                          fileOffset: dataStart + Int(t.offset), byteCount: bytes))
        }
        self.tensors = tensors
        tensorIndex = index
    }

    /// Tensors in one file: ~100× the largest models' (a few thousand, experts included).
    static let maxTensors = 1 << 20
    /// ggml's GGML_MAX_NAME (64, with the terminating NUL): llama.cpp refuses longer tensor names.
    static let maxTensorNameBytes = 63
    /// Keys are dotted identifiers ("llama.attention.head_count"); a key of kilobytes is a
    /// corrupt length, and would be quoted whole in every message about it.
    static let maxKeyBytes = 1024

    /// `general.alignment`: the spec stores it as a uint32 power of two (default 32); any other
    /// type or value is refused rather than guessed at, since every tensor offset depends on it.
    static func alignment(_ value: GGUFValue?, path: String) throws(ModelLoadError) -> Int {
        guard let value else { return 32 }
        let isBool = if case .bool = value { true } else { false }
        guard !isBool, let a = value.int, a > 0, a <= 1 << 31, a.nonzeroBitCount == 1 else {
            throw .corrupt(path: path, reason: "general.alignment \(value) is not a power of two in 1...2^31")
        }
        return a
    }

    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// Pointer to a tensor's bytes inside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { file.base + tensor.fileOffset }
}
