/// One GGUF metadata value (GGUF spec, `gguf_metadata_value_type`). Not `indirect`: arrays
/// already live on the heap, and boxing every scalar would cost an allocation per element of a
/// vocabulary-sized array (and let a corrupt count turn a file into gigabytes of boxes).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    /// Elements all share one type; arrays may nest.
    case array([GGUFValue])

    /// The value as an integer when it is any integer type (or a bool).
    public var int: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): Int(exactly: v)
        case let .int64(v): Int(v)
        case let .bool(v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a floating-point number when it is numeric.
    public var double: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }
    public var bool: Bool? { if case let .bool(b) = self { b } else { int.map { $0 != 0 } } }
    public var array: [GGUFValue]? { if case let .array(a) = self { a } else { nil } }
}
