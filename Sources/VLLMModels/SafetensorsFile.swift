import Foundation

/// A safetensors element type (the `dtype` strings of the format's spec).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }
}

/// Where one tensor lives inside a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major, outermost dimension first (PyTorch order, unlike GGUF's `ne`).
    public let shape: [Int]
    /// Absolute byte range in the file.
    public let fileRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, memory-mapped safetensors file (spec: the format description in the
/// huggingface/safetensors README): an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
/// possibly padded with trailing spaces), then the data buffer the offsets are relative to.
///
/// Everything is checked before use, as the reference implementation does: the header fits in
/// the file and is at most 100 MB of JSON, every tensor's byte count is product(shape) × dtype
/// size, offsets lie inside the buffer, and tensors cover the buffer exactly, without overlaps
/// or holes (the spec forbids holes so a file cannot hide a second payload). A bad file throws
/// `ModelLoadError` naming the file and the problem; nothing traps.
public final class SafetensorsFile: @unchecked Sendable {
    public let file: MappedFile
    /// The free-form `__metadata__` map (string to string).
    public let metadata: [String: String]
    /// Tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]

    /// The reference implementation's limit on the header size.
    public static let maxHeaderBytes = 100_000_000

    public var path: String { file.path }

    public convenience init(path: String) throws(ModelLoadError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(ModelLoadError) {
        self.file = file
        func corrupt(_ reason: String) -> ModelLoadError { .corrupt(path: file.path, reason: reason) }
        guard file.count >= 8 else { throw corrupt("file is \(file.count) bytes, shorter than the 8-byte header length") }
        let n = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard n >= 2, n <= UInt64(Self.maxHeaderBytes) else { throw corrupt("header length \(n) is not in 2...\(Self.maxHeaderBytes)") }
        guard n <= UInt64(file.count - 8) else { throw corrupt("header length \(n) runs past the end of the file (\(file.count) bytes)") }
        let headerBytes = Data(bytes: file.base + 8, count: Int(n))
        guard headerBytes.first == UInt8(ascii: "{") else { throw corrupt("the header does not start with '{'") }
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataStart = 8 + Int(n), dataCount = file.count - dataStart

        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: Any] else { throw corrupt("__metadata__ is not an object") }
            for (k, v) in dict {
                guard let s = v as? String else { throw corrupt("__metadata__ value of \(k.clippedForMessage()) is not a string") }
                metadata[k] = s
            }
        }
        self.metadata = metadata

        var tensors: [SafetensorsTensorInfo] = []
        for (name, value) in header where name != "__metadata__" {
            tensors.append(try Self.parseTensor(name, value, dataStart: dataStart, dataCount: dataCount, corrupt: corrupt))
        }
        // Ties broken by name so that two zero-size tensors at one offset order deterministically.
        tensors.sort { ($0.fileRange.lowerBound, $0.fileRange.upperBound, $0.name) < ($1.fileRange.lowerBound, $1.fileRange.upperBound, $1.name) }
        var end = dataStart
        for t in tensors {
            guard t.fileRange.lowerBound >= end else {
                throw corrupt("tensor \(t.name.clippedForMessage()) (data_offsets \(t.fileRange.lowerBound - dataStart)..<\(t.fileRange.upperBound - dataStart)) overlaps another tensor")
            }
            guard t.fileRange.lowerBound == end else {
                throw corrupt("the data buffer has a hole of \(t.fileRange.lowerBound - end) bytes before tensor \(t.name.clippedForMessage())")
            }
            end = t.fileRange.upperBound
        }
        guard end == file.count else {
            throw corrupt("\(file.count - end) bytes after the last tensor are not covered by any tensor")
        }
        self.tensors = tensors
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    private static func parseTensor(_ fullName: String, _ value: Any, dataStart: Int, dataCount: Int,
                                     corrupt: (String) -> ModelLoadError) throws(ModelLoadError) -> SafetensorsTensorInfo {
        // Messages quote the name clipped: the header may hold a name of megabytes.
        let name = fullName.clippedForMessage()
        guard let entry = value as? [String: Any] else { throw corrupt("tensor \(name) is not an object") }
        guard let d = entry["dtype"] as? String else { throw corrupt("tensor \(name) has no dtype string") }
        guard let dtype = SafetensorsDType(rawValue: d) else { throw corrupt("tensor \(name) has unknown dtype \(d.clippedForMessage())") }
        guard let shapeAny = entry["shape"] as? [Any] else { throw corrupt("tensor \(name) has no shape list") }
        var shape: [Int] = []
        for s in shapeAny {
            guard let v = exactInt(s), v >= 0 else { throw corrupt("tensor \(name) has a bad shape \("\(shapeAny)".clippedForMessage())") }
            shape.append(v)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = exactInt(offsets[0]), let end = exactInt(offsets[1]) else {
            throw corrupt("tensor \(name) needs data_offsets [begin, end]")
        }
        guard begin >= 0, begin <= end, end <= dataCount else {
            throw corrupt("tensor \(name) data_offsets [\(begin), \(end)] lie outside the \(dataCount)-byte data buffer")
        }
        var bytes = dtype.size, overflow = false
        for dim in shape {
            (bytes, overflow) = bytes.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw corrupt("tensor \(name) shape \("\(shape)".clippedForMessage()) is too large") }
        }
        guard bytes == end - begin else {
            throw corrupt("tensor \(name) of \(dtype.rawValue) \("\(shape)".clippedForMessage()) needs \(bytes) bytes but data_offsets give \(end - begin)")
        }
        return SafetensorsTensorInfo(name: fullName, dtype: dtype, shape: shape, fileRange: dataStart + begin ..< dataStart + end)
    }

    /// A JSON number written as an integer. Foundation hands JSON numbers and booleans back as
    /// NSNumber (and `1 is Bool` holds for them), so the stored C type tells them apart:
    /// "c" is a boolean, "d"/"f" a number written with a fraction or exponent.
    private static func exactInt(_ v: Any) -> Int? {
        guard let n = v as? NSNumber, !["c", "d", "f"].contains(String(cString: n.objCType)) else { return nil }
        return v as? Int
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    /// The tensor's elements as fp32 (row-major). F32, F16 and BF16 convert exactly; other
    /// dtypes are refused.
    public func floats(_ t: SafetensorsTensorInfo) throws(ModelLoadError) -> [Float] {
        let n = t.elementCount, src = file.base + t.fileRange.lowerBound
        switch t.dtype {
        case .f32:
            return (0..<n).map { Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case .f16:
            return (0..<n).map { Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
        case .bf16:
            // bf16 is the top half of an fp32.
            return (0..<n).map { Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) << 16) }
        default:
            throw .unsupported(path: path, reason: "tensor \(t.name) has dtype \(t.dtype.rawValue); only F32, F16 and BF16 can be read as floats")
        }
    }

    /// `floats(_:)` by name; a missing tensor is an error naming it.
    public func floats(named name: String) throws(ModelLoadError) -> [Float] {
        guard let t = tensor(named: name) else { throw .corrupt(path: path, reason: "tensor \(name) is missing") }
        return try floats(t)
    }
}
