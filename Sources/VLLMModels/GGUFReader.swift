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

    mutating func readString(_ what: @autoclosure () -> String) throws(ModelLoadError) -> String {
        let n = try readCount(what(), minimumElementSize: 1)
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
            guard depth < 8 else { throw corrupt("metadata \(key) nests arrays too deeply") }
            let elementType = try read(UInt32.self, key)
            let n = try readCount("array \(key)", minimumElementSize: Self.minimumSize(of: elementType))
            var out: [GGUFValue] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try readValue(type: elementType, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try read(UInt64.self, key))
        case 11: return .int64(try read(Int64.self, key))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        default: throw corrupt("metadata \(key) has unknown value type \(type)")
        }
    }

    /// Smallest encoding of one element, so a bogus array count is caught before allocating.
    static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        default: 8 // 64-bit scalars, strings and arrays start with a u64
        }
    }
}
