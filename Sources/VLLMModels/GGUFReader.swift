import VLLMCompute

/// A bounds-checked little-endian cursor over the mapped file. Every read that would pass the
/// end throws instead of trapping, so a truncated or corrupt file gives an error.
struct GGUFCursor {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var offset = 0

    var remaining: Int { count - offset }

    func corrupt(_ reason: String) -> ModelLoadError { .corrupt(path: path, reason: reason) }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(ModelLoadError) -> T {
        guard remaining >= MemoryLayout<T>.size else {
            throw corrupt("file ends inside \(what()) at byte \(offset)")
        }
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readCount(_ what: @autoclosure () -> String, minimumElementSize: Int) throws(ModelLoadError) -> Int {
        let n = try read(UInt64.self, what())
        guard n <= UInt64(remaining / max(minimumElementSize, 1)) else {
            throw corrupt("\(what()) claims \(n) elements but only \(remaining) bytes remain")
        }
        return Int(n)
    }

    /// A string: u64 byte count, then UTF-8 bytes (not NUL-terminated). Invalid UTF-8 is
    /// repaired rather than refused, as it only ever names or labels something.
    mutating func readString(_ what: @autoclosure () -> String, maxBytes: Int = .max) throws(ModelLoadError) -> String {
        let n = try readCount(what(), minimumElementSize: 1)
        guard n <= maxBytes else { throw corrupt("\(what()) is \(n) bytes long (at most \(maxBytes) are accepted)") }
        let s = String(decoding: UnsafeRawBufferPointer(start: base + offset, count: n), as: UTF8.self)
        offset += n
        return s
    }

    mutating func readValue(type: UInt32, key: String, depth: Int = 0) throws(ModelLoadError) -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, key))
        case 1: return .int8(try read(Int8.self, key))
        case 2: return .uint16(try read(UInt16.self, key))
        case 3: return .int16(try read(Int16.self, key))
        case 4: return .uint32(try read(UInt32.self, key))
        case 5: return .int32(try read(Int32.self, key))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, key)))
        case 7:
            let b = try read(UInt8.self, key)
            guard b <= 1 else { throw corrupt("metadata \(key) has bool byte \(b)") }
            return .bool(b == 1)
        case 8: return .string(try readString(key))
        case 9:
            guard depth < Self.maxArrayDepth else { throw corrupt("metadata \(key) nests arrays more than \(Self.maxArrayDepth) deep") }
            let elementType = try read(UInt32.self, key)
            // Checked before the count so an empty array of a bogus type is refused too.
            guard elementType <= 12 else { throw corrupt("metadata \(key) is an array of unknown value type \(elementType)") }
            let n = try readCount("array \(key)", minimumElementSize: Self.minimumSize(of: elementType))
            guard n <= Self.maxArrayElements else {
                throw corrupt("metadata \(key) claims \(n) array elements (at most \(Self.maxArrayElements) are accepted)")
            }
            var out: [GGUFValue] = []
            // Grown as elements parse, not reserved from the claimed count: a corrupt count in a
            // large file could otherwise reserve gigabytes before the first element fails.
            out.reserveCapacity(min(n, 1 << 16))
            for _ in 0..<n { out.append(try readValue(type: elementType, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try read(UInt64.self, key))
        case 11: return .int64(try read(Int64.self, key))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        default: throw corrupt("metadata \(key) has unknown value type \(type)")
        }
    }

    /// Arrays inside arrays: the spec allows nesting, no model uses more than one level, and a
    /// limit keeps the recursion off the end of the stack.
    static let maxArrayDepth = 8
    /// Elements of one metadata array: 64× the largest vocabularies in use (~262k tokens), low
    /// enough that a corrupt count cannot make the parser build hundreds of millions of values
    /// out of a multi-gigabyte file's tensor data.
    static let maxArrayElements = 1 << 24

    /// Smallest encoding of one element, so a bogus array count is caught before allocating.
    static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 9: 12 // element type (u32) and count (u64)
        default: 8 // 64-bit scalars and strings (their u64 length)
        }
    }
}
