/// One tensor as `torch.save` writes it (PyTorch's zip serialization: a stored, uncompressed ZIP
/// archive holding `<name>/data.pkl`, a protocol-2 pickle of the tensor, and `<name>/data/<key>`,
/// the raw little-endian storage), read without running the pickle: only the opcodes and the
/// three callables a plain dense tensor pickles to (`torch._utils._rebuild_tensor_v2`, a
/// Float/Half/BFloat16 storage class, an empty `collections.OrderedDict`) are accepted. Anything
/// else — another object, another callable, a compressed or malformed archive — is refused, since
/// these bytes come from clients (vLLM's `prompt_embeds`).
public struct TorchTensorFile: Sendable {
    public let shape: [Int]
    /// The elements in row-major order, converted to Float.
    public let values: [Float]

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Refuses tensors with more elements than this.
    public init(bytes: [UInt8], maxElements: Int) throws(FormatError) {
        let archive = try StoredZip(bytes)
        guard let pickleName = archive.names.first(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) else {
            throw FormatError(description: "no data.pkl in the archive (not a torch.save file)")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        let t = try TensorPickle(archive.contents(pickleName)!)
        guard t.shape.count <= 8, t.shape.allSatisfy({ $0 >= 0 }), t.stride.count == t.shape.count,
              t.stride.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
            throw FormatError(description: "tensor shape \(t.shape), stride \(t.stride) or offset \(t.offset) is invalid")
        }
        var count = 1
        for d in t.shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= maxElements else { throw FormatError(description: "tensor of shape \(t.shape) has more than \(maxElements) elements") }
            count = p
        }
        guard let stored = archive.contents(prefix + "data/" + t.key) else {
            throw FormatError(description: "storage \(t.key.clippedForMessage()) is missing from the archive")
        }
        let storage = Array(stored)
        let size = t.dtype == .f32 ? 4 : 2
        guard storage.count % size == 0 else { throw FormatError(description: "storage is not a whole number of elements") }
        let available = storage.count / size
        // The last element the view reads must lie inside the storage.
        var last = t.offset
        for (d, s) in zip(t.shape, t.stride) where d > 0 { last += (d - 1) * s }
        guard count == 0 || last < available else {
            throw FormatError(description: "tensor view reaches element \(last) of a storage of \(available)")
        }
        func element(_ i: Int) -> Float {
            let b = i * size
            switch t.dtype {
            case .f32:
                return Float(bitPattern: UInt32(storage[b]) | UInt32(storage[b + 1]) << 8 | UInt32(storage[b + 2]) << 16 | UInt32(storage[b + 3]) << 24)
            case .f16:
                return Float(Float16(bitPattern: UInt16(storage[b]) | UInt16(storage[b + 1]) << 8))
            case .bf16:
                return Float(bitPattern: (UInt32(storage[b]) | UInt32(storage[b + 1]) << 8) << 16)
            }
        }
        var values: [Float] = []
        values.reserveCapacity(count)
        // Row-major strides (what torch.save writes for a fresh tensor) read straight through.
        let rowMajor = t.shape.indices.reversed().reduce((true, 1)) { acc, d in
            (acc.0 && (t.shape[d] == 1 || t.stride[d] == acc.1), acc.1 * t.shape[d])
        }.0
        if rowMajor {
            for i in 0..<count { values.append(element(t.offset + i)) }
        } else {
            var index = [Int](repeating: 0, count: t.shape.count)
            for _ in 0..<count {
                values.append(element(t.offset + zip(index, t.stride).reduce(0) { $0 + $1.0 * $1.1 }))
                var d = index.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < t.shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        shape = t.shape
        self.values = values
    }
}

/// The entries of a ZIP archive whose members are all stored (method 0), found through its
/// central directory (PKWARE APPNOTE 4.3.12 / 4.3.16); ZIP64 archives are refused.
private struct StoredZip {
    private let bytes: [UInt8]
    private var entries: [String: Range<Int>] = [:]
    var names: [String] { entries.keys.sorted() }

    init(_ bytes: [UInt8]) throws(TorchTensorFile.FormatError) {
        self.bytes = bytes
        func fail(_ m: String) -> TorchTensorFile.FormatError { .init(description: "not a torch.save archive: \(m)") }
        func u16(_ o: Int) throws(TorchTensorFile.FormatError) -> Int {
            guard o >= 0, o + 2 <= bytes.count else { throw fail("truncated") }
            return Int(bytes[o]) | Int(bytes[o + 1]) << 8
        }
        func u32(_ o: Int) throws(TorchTensorFile.FormatError) -> Int {
            guard o >= 0, o + 4 <= bytes.count else { throw fail("truncated") }
            return Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24
        }
        // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
        var eocd = -1
        var o = bytes.count - 22
        while o >= max(0, bytes.count - 22 - 65535) {
            if try u32(o) == 0x0605_4B50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw fail("no end of central directory") }
        let count = try u16(eocd + 10), cdOffset = try u32(eocd + 16)
        guard count != 0xFFFF, cdOffset != 0xFFFF_FFFF else { throw fail("ZIP64 archives are not accepted") }
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory entry") }
            let method = try u16(p + 10), size = try u32(p + 20), usize = try u32(p + 24)
            let nameLen = try u16(p + 28), extraLen = try u16(p + 30), commentLen = try u16(p + 32)
            let local = try u32(p + 42)
            guard p + 46 + nameLen <= bytes.count else { throw fail("truncated") }
            let name = String(decoding: bytes[(p + 46) ..< (p + 46 + nameLen)], as: UTF8.self)
            guard method == 0, size == usize else { throw fail("member \(name.clippedForMessage()) is compressed") }
            guard try u32(local) == 0x0403_4B50 else { throw fail("bad local header") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard start + size <= bytes.count else { throw fail("member \(name.clippedForMessage()) runs past the end") }
            guard entries.updateValue(start ..< start + size, forKey: name) == nil else { throw fail("member \(name.clippedForMessage()) appears twice") }
            p += 46 + nameLen + extraLen + commentLen
        }
    }

    func contents(_ name: String) -> ArraySlice<UInt8>? { entries[name].map { bytes[$0] } }
}

/// The fields of `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`, read
/// by a pickle machine that knows only what that call pickles to.
private struct TensorPickle {
    enum DType { case f32, f16, bf16 }
    var dtype = DType.f32
    var key = ""
    var offset = 0
    var shape: [Int] = []
    var stride: [Int] = []

    private init() {}

    private indirect enum Value {
        case int(Int), bool(Bool), string(String), tuple([Value]), mark, none
        case global(String), storage(DType, String), tensor, emptyDict
    }

    init(_ data: ArraySlice<UInt8>) throws(TorchTensorFile.FormatError) {
        func fail(_ m: String) -> TorchTensorFile.FormatError { .init(description: "data.pkl is not a plain tensor: \(m)") }
        let b = Array(data)
        var i = 0, stack: [Value] = [], memo: [Int: Value] = [:]
        var result: TensorPickle?
        func take(_ n: Int) throws(TorchTensorFile.FormatError) -> ArraySlice<UInt8> {
            guard n >= 0, i + n <= b.count else { throw fail("truncated") }
            defer { i += n }
            return b[i ..< i + n]
        }
        func le(_ s: ArraySlice<UInt8>) -> Int { s.reversed().reduce(0) { $0 << 8 | Int($1) } }
        func line() throws(TorchTensorFile.FormatError) -> String {
            guard let end = b[i...].firstIndex(of: 10), end - i <= 256 else { throw fail("bad GLOBAL") }
            defer { i = end + 1 }
            return String(decoding: b[i ..< end], as: UTF8.self)
        }
        func pop() throws(TorchTensorFile.FormatError) -> Value {
            guard let v = stack.popLast() else { throw fail("stack underflow") }
            return v
        }
        func popToMark() throws(TorchTensorFile.FormatError) -> [Value] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { true } else { false } }) else { throw fail("no MARK") }
            defer { stack.removeSubrange(m...) }
            return Array(stack[(m + 1)...])
        }
        func ints(_ v: Value) throws(TorchTensorFile.FormatError) -> [Int] {
            guard case let .tuple(items) = v else { throw fail("size or stride is not a tuple") }
            var out: [Int] = []
            for item in items { guard case let .int(n) = item else { throw fail("size or stride holds a non-integer") }; out.append(n) }
            return out
        }
        guard b.count <= 1 << 16 else { throw fail("\(b.count) bytes is too large for one tensor's pickle") }
        while true {
            guard stack.count <= 64 else { throw fail("nesting too deep") }
            let op = try take(1).first!
            switch op {
            case 0x80: _ = try take(1)                                    // PROTO
            case 0x2E: guard let r = result, stack.count == 1 else { throw fail("no tensor at STOP") }  // STOP
                self = r
                return
            case 0x28: stack.append(.mark)                                // MARK
            case 0x29: stack.append(.tuple([]))                           // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))              // TUPLE
            case 0x85, 0x86, 0x87:                                        // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count >= n else { throw fail("stack underflow") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(.tuple(items))
            case 0x4B: stack.append(.int(le(try take(1))))                // BININT1
            case 0x4D: stack.append(.int(le(try take(2))))                // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: le(try take(4))))))  // BININT
            case 0x88: stack.append(.bool(true))                          // NEWTRUE
            case 0x89: stack.append(.bool(false))                         // NEWFALSE
            case 0x4E: stack.append(.none)                                // NONE
            case 0x7D: stack.append(.emptyDict)                           // EMPTY_DICT
            case 0x58:                                                    // BINUNICODE
                let n = le(try take(4))
                guard n <= 256 else { throw fail("string too long") }
                stack.append(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x71: memo[le(try take(1))] = stack.last                 // BINPUT
            case 0x72: memo[le(try take(4))] = stack.last                 // LONG_BINPUT
            case 0x68, 0x6A:                                              // BINGET, LONG_BINGET
                guard let v = memo[le(try take(op == 0x68 ? 1 : 4))] else { throw fail("unknown memo entry") }
                stack.append(v)
            case 0x63:                                                    // GLOBAL
                let name = try line() + "." + (try line())
                guard ["torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
                       "collections.OrderedDict"].contains(name) else { throw fail("callable \(name.clippedForMessage()) is not allowed") }
                stack.append(.global(name))
            case 0x51:                                                    // BINPERSID
                guard case let .tuple(p) = try pop(), p.count == 5, case .string("storage") = p[0],
                      case let .global(cls) = p[1], case let .string(key) = p[2], key.count <= 64 else {
                    throw fail("bad persistent storage id")
                }
                let dtype: DType = switch cls { case "torch.HalfStorage": .f16; case "torch.BFloat16Storage": .bf16; default: .f32 }
                guard cls.hasSuffix("Storage") else { throw fail("bad storage class") }
                stack.append(.storage(dtype, key))
            case 0x52:                                                    // REDUCE
                let args = try pop(), callable = try pop()
                guard case let .global(name) = callable, case let .tuple(a) = args else { throw fail("bad REDUCE") }
                if name == "collections.OrderedDict" {
                    guard a.isEmpty else { throw fail("OrderedDict with contents") }
                    stack.append(.emptyDict)
                } else if name == "torch._utils._rebuild_tensor_v2", result == nil, a.count == 6,
                          case let .storage(dtype, key) = a[0], case let .int(offset) = a[1] {
                    var t = TensorPickle()
                    t.dtype = dtype
                    t.key = key
                    t.offset = offset
                    t.shape = try ints(a[2])
                    t.stride = try ints(a[3])
                    result = t
                    stack.append(.tensor)
                } else {
                    throw fail("bad call of \(name)")
                }
            default:
                throw fail("opcode 0x\(String(op, radix: 16)) is not accepted")
            }
        }
    }
}
