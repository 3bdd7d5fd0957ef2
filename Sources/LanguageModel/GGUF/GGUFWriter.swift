import CoreTypes
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF version 3 file in memory and writes it out: metadata of any GGUF value type,
/// tensors given as Float32 values (encoded as F32, F16, BF16, Q8_0, Q4_0 or Q4_1) or as raw
/// pre-encoded bytes of any ``GGMLType``.
///
/// Metadata and tensors are written in insertion order. The data section and every tensor are
/// aligned to ``alignment`` bytes (zero padding); when it differs from 32 the writer also stores
/// `general.alignment` as a uint32, replacing any value set by hand.
///
/// ```swift
/// var writer = GGUFWriter()
/// writer.setMetadata("general.architecture", .string("llama"))
/// try writer.addTensor(name: "token_embd.weight", dimensions: [64, 100], values: embedding, encodedAs: .q8_0)
/// try writer.write(to: "/tmp/tiny.gguf")
/// ```
public struct GGUFWriter: Sendable {
    private struct PendingTensor: Sendable {
        var name: String
        var dimensions: [Int]
        var type: GGMLType
        var bytes: [UInt8]
    }

    /// Alignment in bytes of the data section and of each tensor (default 32). Must be a power
    /// of two no larger than 2^30; otherwise ``serialized()`` and ``write(to:)`` throw
    /// ``GGUFError/invalidAlignment(_:)``.
    public let alignment: Int
    private var metadataEntries: [(key: String, value: GGUFValue)] = []
    private var pending: [PendingTensor] = []

    /// Creates an empty writer. `alignment` must be a power of two (default 32 bytes); it is
    /// checked when the file is serialised.
    public init(alignment: Int = 32) {
        self.alignment = alignment
    }

    /// Sets `key` to `value`, replacing an earlier value of the same key in place.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) {
        if let index = metadataEntries.firstIndex(where: { $0.key == key }) {
            metadataEntries[index].value = value
        } else {
            metadataEntries.append((key, value))
        }
    }

    /// Adds a tensor from Float32 `values` (file order, `ne0` = `dimensions[0]` fastest), encoded
    /// as `type` (F32, F16, BF16, Q8_0, Q4_0 or Q4_1).
    /// - Throws: ``GGUFError/invalidTensorData(tensor:reason:)`` for a duplicate name, a value
    ///   count that is not the product of `dimensions`, an `ne0` that is not whole blocks, more
    ///   than 4 dimensions, or a type that cannot be encoded.
    public mutating func addTensor(
        name: String, dimensions: [Int], values: [Float], encodedAs type: GGMLType = .f32
    ) throws(GGUFError) {
        try validate(name: name, dimensions: dimensions, type: type)
        let count = dimensions.reduce(1, *)
        guard values.count == count else {
            throw .invalidTensorData(tensor: name, reason: "\(values.count) values for shape \(dimensions)")
        }
        let bytes: [UInt8]
        do throws(GGUFError) {
            bytes = try GGUFQuantizer.encode(values, as: type)
        } catch {
            if case .invalidTensorData(_, let reason) = error { throw .invalidTensorData(tensor: name, reason: reason) }
            throw error
        }
        pending.append(PendingTensor(name: name, dimensions: dimensions, type: type, bytes: bytes))
    }

    /// Adds a tensor whose bytes are already encoded as `type` (any ``GGMLType``).
    /// - Throws: ``GGUFError/invalidTensorData(tensor:reason:)`` if `bytes.count` is not the size
    ///   of `dimensions` in `type`, or for the shape problems listed in
    ///   ``addTensor(name:dimensions:values:encodedAs:)``.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) throws(GGUFError) {
        try validate(name: name, dimensions: dimensions, type: type)
        let info = GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: 0)
        guard bytes.count == info.byteCount else {
            throw .invalidTensorData(tensor: name, reason: "\(bytes.count) bytes, \(info.byteCount) expected for \(type) \(dimensions)")
        }
        pending.append(PendingTensor(name: name, dimensions: dimensions, type: type, bytes: bytes))
    }

    private func validate(name: String, dimensions: [Int], type: GGMLType) throws(GGUFError) {
        guard !pending.contains(where: { $0.name == name }) else {
            throw .invalidTensorData(tensor: name, reason: "a tensor with this name was already added")
        }
        guard dimensions.count <= GGUFFile.maxDimensions, dimensions.allSatisfy({ $0 >= 0 }) else {
            throw .invalidTensorData(tensor: name, reason: "invalid dimensions \(dimensions)")
        }
        var product = 1
        for d in dimensions {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .invalidTensorData(tensor: name, reason: "dimensions \(dimensions) overflow") }
            product = p
        }
        let rowLength = dimensions.first ?? 1
        guard let rowBytes = type.rowBytes(elements: rowLength) else {
            throw .invalidTensorData(tensor: name, reason: "ne0 \(rowLength) is not a multiple of the \(type) block size \(type.blockSize)")
        }
        let rows = rowLength == 0 ? 0 : product / rowLength
        guard !rows.multipliedReportingOverflow(by: rowBytes).overflow else {
            throw .invalidTensorData(tensor: name, reason: "byte size of \(type) \(dimensions) overflows")
        }
    }

    /// The complete file contents.
    /// - Throws: ``GGUFError/invalidMetadataArray(key:)`` for an array whose elements are not all
    ///   of one type, ``GGUFError/invalidAlignment(_:)`` for a bad ``alignment``.
    public func serialized() throws(GGUFError) -> [UInt8] {
        guard alignment > 0, alignment <= 1 << 30, alignment & (alignment - 1) == 0 else {
            throw .invalidAlignment("\(alignment)")
        }
        var out = ByteWriter()
        var entries = metadataEntries.filter { $0.key != "general.alignment" }
        if alignment != GGUFFile.defaultAlignment {
            entries.insert(("general.alignment", .uint32(UInt32(alignment))), at: 0)
        } else if let kept = metadataEntries.first(where: { $0.key == "general.alignment" }), kept.value.int == alignment {
            entries.insert(kept, at: 0)
        }

        out.integer(UInt32(0x4655_4747))  // "GGUF"
        out.integer(UInt32(3))
        out.integer(UInt64(pending.count))
        out.integer(UInt64(entries.count))
        for (key, value) in entries {
            out.ggufString(key)
            out.integer(value.valueType.rawValue)
            try out.ggufValue(value, key: key)
        }

        var offset = 0
        var offsets: [Int] = []
        for tensor in pending {
            offsets.append(offset)
            offset = Self.padded(offset + tensor.bytes.count, to: alignment)
        }
        for (tensor, tensorOffset) in zip(pending, offsets) {
            out.ggufString(tensor.name)
            out.integer(UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { out.integer(UInt64(d)) }
            out.integer(tensor.type.rawValue)
            out.integer(UInt64(tensorOffset))
        }
        out.pad(toMultipleOf: alignment)
        let dataStart = out.bytes.count
        for (tensor, tensorOffset) in zip(pending, offsets) {
            out.bytes.append(contentsOf: repeatElement(0, count: dataStart + tensorOffset - out.bytes.count))
            out.bytes.append(contentsOf: tensor.bytes)
        }
        out.pad(toMultipleOf: alignment)
        return out.bytes
    }

    /// Writes the file to `path` (through a temporary file in the same directory, renamed into
    /// place, so a reader never sees a half-written file).
    /// - Throws: ``GGUFError/writeFailed(path:errno:)`` or the errors of ``serialized()``.
    public func write(to path: String) throws(GGUFError) {
        let bytes = try serialized()
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, errno: errno) }
        var written = 0
        let failure: Int32? = bytes.withUnsafeBytes { raw -> Int32? in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        if let failure {
            close(fd)
            unlink(temporary)
            throw .writeFailed(path: path, errno: failure)
        }
        guard close(fd) == 0 else {
            let e = errno
            unlink(temporary)
            throw .writeFailed(path: path, errno: e)
        }
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw .writeFailed(path: path, errno: e)
        }
    }

    static func padded(_ n: Int, to alignment: Int) -> Int {
        (n + alignment - 1) / alignment * alignment
    }
}

// GGUF's strings and metadata values on CoreTypes' little-endian ByteWriter.
extension ByteWriter {
    /// A GGUF string: UInt64 byte length, then the UTF-8 bytes (no terminator).
    mutating func ggufString(_ s: String) {
        let utf8 = Array(s.utf8)
        u64(UInt64(utf8.count))
        raw(utf8)
    }

    /// Appends the payload of `value` (its type id has already been written).
    mutating func ggufValue(_ value: GGUFValue, key: String) throws(GGUFError) {
        switch value {
        case .uint8(let v): integer(v)
        case .int8(let v): integer(v)
        case .uint16(let v): integer(v)
        case .int16(let v): integer(v)
        case .uint32(let v): integer(v)
        case .int32(let v): integer(v)
        case .uint64(let v): integer(v)
        case .int64(let v): integer(v)
        case .float32(let v): integer(v.bitPattern)
        case .float64(let v): integer(v.bitPattern)
        case .bool(let v): integer(UInt8(v ? 1 : 0))
        case .string(let v): ggufString(v)
        case .array(let elements):
            // An empty array is written with element type uint8.
            let elementType = elements.first?.valueType ?? .uint8
            guard elements.allSatisfy({ $0.valueType == elementType }) else { throw .invalidMetadataArray(key: key) }
            integer(elementType.rawValue)
            integer(UInt64(elements.count))
            for element in elements {
                try ggufValue(element, key: key)
            }
        }
    }
}

/// `write(2)`, named so it does not collide with ``GGUFWriter/write(to:)``.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
