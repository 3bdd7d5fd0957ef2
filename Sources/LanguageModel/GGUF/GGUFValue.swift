/// One typed GGUF metadata value. The case records the exact on-disk type, so a value read
/// from a file and written back keeps its type.
///
/// Arrays hold elements of a single type (GGUF requires it; the writer enforces it). Strings are
/// decoded as UTF-8; invalid sequences are replaced with U+FFFD.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value as an `Int` if it is any integer type and fits in `Int`; otherwise nil.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a `Float` if it is a float type (float64 is rounded) or an integer type;
    /// otherwise nil.
    public var float: Float? {
        switch self {
        case .float32(let v): v
        case .float64(let v): Float(v)
        default: int.map { Float($0) }
        }
    }

    /// The value as a `Double` if it is a float or integer type; otherwise nil.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map { Double($0) }
        }
    }

    /// The value if it is `.bool`; otherwise nil.
    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The value if it is `.string`; otherwise nil.
    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The elements if this is an array; otherwise nil.
    public var array: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// The elements if this is an array of strings (an empty array counts); otherwise nil.
    public var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard case .string(let s) = e else { return nil }
            out.append(s)
        }
        return out
    }

    /// The elements if this is an array of integers that all fit in `Int`; otherwise nil.
    public var intArray: [Int]? {
        guard case .array(let elements) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard let v = e.int else { return nil }
            out.append(v)
        }
        return out
    }

    /// The elements if this is an array of numbers (floats or integers), as `Float`; otherwise nil.
    public var floatArray: [Float]? {
        guard case .array(let elements) = self else { return nil }
        var out: [Float] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard let v = e.float else { return nil }
            out.append(v)
        }
        return out
    }

    /// The GGUF value-type id of this value (`array` is 9).
    public var valueType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }
}

/// The on-disk GGUF metadata value-type ids.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes one value of this type occupies at minimum (a string's 8-byte length; an array's
    /// 12-byte header). Used to reject impossible counts before allocating.
    public var minimumEncodedBytes: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}
