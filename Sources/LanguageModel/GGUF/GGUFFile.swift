/// A GGUF (version 2 or 3) file opened read-only: header, typed metadata and tensor table are
/// parsed and validated in `init`; tensor bytes stay in the memory mapping and are read on demand.
///
/// Validation guarantees that every tensor's bytes lie inside the file, so ``data(of:)`` and the
/// dequantisers never read out of bounds. Bogus counts (e.g. 2^63 tensors, a 2^40-byte string)
/// are rejected before any allocation, by comparing them with the bytes left in the file.
///
/// Immutable after `init` and therefore `Sendable`; pointers returned by ``data(of:)`` are valid
/// for the lifetime of this object.
public final class GGUFFile: Sendable {
    /// The file's GGUF version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataOrder: [String]
    /// Tensor table entries by name.
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorOrder: [String]
    /// Alignment of the data section and of every tensor offset, in bytes
    /// (`general.alignment`, default 32).
    public let alignment: Int
    /// Offset in bytes of the data section from the start of the file.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public var fileSize: Int { mapping.size }

    let mapping: GGUFMapping

    /// The data-section alignment used when a file has no `general.alignment`, in bytes.
    public static let defaultAlignment = 32
    /// Metadata arrays may nest at most this deep (an array of arrays is depth 2).
    public static let maxArrayNesting = 8
    /// Tensors may have at most this many dimensions (GGML_MAX_DIMS).
    public static let maxDimensions = 4

    /// Memory-maps the file at `path` read-only and parses header, metadata and tensor table.
    /// Throws a ``GGUFError`` for any malformed, truncated or unsupported content.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapping: GGUFMapping(path: path))
    }

    /// Parses a GGUF file held in memory (the bytes are copied). Same validation as
    /// ``init(path:)``; meant for tests and for files produced by ``GGUFWriter``.
    public convenience init(bytes: [UInt8]) throws(GGUFError) {
        try self.init(mapping: GGUFMapping(bytes: bytes))
    }

    init(mapping: GGUFMapping) throws(GGUFError) {
        self.mapping = mapping
        var cursor = GGUFByteCursor(base: mapping.base, size: mapping.size)

        let magic = try cursor.read(UInt32.self)
        guard magic == 0x4655_4747 else { throw .badMagic(found: magic) }  // "GGUF"
        version = try cursor.read(UInt32.self)
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }

        // Each tensor-table entry is at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset)
        // bytes; each metadata entry at least 8 (key length) + 4 (type) + 1 (value).
        let tensorCountOffset = cursor.offset
        let tensorCount = try cursor.read(UInt64.self)
        let metadataCount = try cursor.readCount(what: "metadata entry count", minimumBytesEach: 13)
        guard tensorCount <= UInt64(cursor.remaining / 24) else {
            throw .implausibleCount(what: "tensor count", count: tensorCount, offset: tensorCountOffset)
        }

        var metadata: [String: GGUFValue] = [:]
        var metadataOrder: [String] = []
        metadata.reserveCapacity(metadataCount)
        metadataOrder.reserveCapacity(metadataCount)
        for _ in 0..<metadataCount {
            let key = try cursor.readString()
            let typeID = try cursor.read(UInt32.self)
            guard let type = GGUFValueType(rawValue: typeID) else { throw .unknownValueType(typeID, key: key) }
            let value = try Self.readValue(type, key: key, depth: 0, cursor: &cursor)
            guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key) }
            metadataOrder.append(key)
        }
        // Re-check now that metadata has been consumed.
        guard tensorCount <= UInt64(cursor.remaining / 24) else {
            throw .implausibleCount(what: "tensor count", count: tensorCount, offset: tensorCountOffset)
        }

        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.int, a > 0, a <= 1 << 30, a & (a - 1) == 0 else {
                throw .invalidAlignment("\(value)")
            }
            alignment = a
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(Int(tensorCount))
        var tensors: [String: GGUFTensorInfo] = [:]
        tensors.reserveCapacity(Int(tensorCount))
        for _ in 0..<Int(tensorCount) {
            let info = try Self.readTensorInfo(cursor: &cursor)
            guard tensors.updateValue(info, forKey: info.name) == nil else { throw .duplicateTensor(info.name) }
            infos.append(info)
        }

        // The data section starts at the next multiple of the alignment.
        let end = cursor.offset
        let dataOffset = (end + alignment - 1) / alignment * alignment
        let dataSize = max(0, mapping.size - dataOffset)
        for info in infos {
            guard info.offset % alignment == 0 else {
                throw .misalignedTensor(tensor: info.name, offset: info.offset, alignment: alignment)
            }
            let (last, overflow) = info.offset.addingReportingOverflow(info.byteCount)
            guard !overflow, last <= dataSize else {
                throw .tensorOutOfBounds(tensor: info.name, offset: info.offset, byteCount: info.byteCount, dataSize: dataSize)
            }
        }

        self.dataOffset = dataOffset
        self.metadata = metadata
        self.metadataOrder = metadataOrder
        self.tensors = tensors
        self.tensorOrder = infos.map(\.name)
    }

    /// The raw bytes of `tensor` inside the mapping (`tensor.byteCount` bytes). Valid while this
    /// `GGUFFile` is alive. `tensor` must come from this file's ``tensors``.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        precondition(tensor.offset >= 0 && tensor.offset + tensor.byteCount <= mapping.size - dataOffset,
                     "tensor '\(tensor.name)' does not belong to this file")
        guard let base = mapping.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    /// The tensor called `name`, or ``GGUFError/tensorNotFound(_:)``.
    public func tensor(named name: String) throws(GGUFError) -> GGUFTensorInfo {
        guard let info = tensors[name] else { throw .tensorNotFound(name) }
        return info
    }

    /// The tensor called `name`, checked to have exactly `dimensions` (`ne0` first).
    /// Throws ``GGUFError/tensorNotFound(_:)`` or ``GGUFError/unexpectedTensorShape(tensor:expected:found:)``.
    public func tensor(named name: String, dimensions: [Int]) throws(GGUFError) -> GGUFTensorInfo {
        let info = try tensor(named: name)
        guard info.dimensions == dimensions else {
            throw .unexpectedTensorShape(tensor: name, expected: dimensions, found: info.dimensions)
        }
        return info
    }

    // MARK: - Parsing helpers

    private static func readValue(
        _ type: GGUFValueType, key: String, depth: Int, cursor: inout GGUFByteCursor
    ) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self))
        case .int8: return .int8(try cursor.read(Int8.self))
        case .uint16: return .uint16(try cursor.read(UInt16.self))
        case .int16: return .int16(try cursor.read(Int16.self))
        case .uint32: return .uint32(try cursor.read(UInt32.self))
        case .int32: return .int32(try cursor.read(Int32.self))
        case .uint64: return .uint64(try cursor.read(UInt64.self))
        case .int64: return .int64(try cursor.read(Int64.self))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self)))
        case .bool: return .bool(try cursor.read(UInt8.self) != 0)
        case .string: return .string(try cursor.readString())
        case .array:
            let elementID = try cursor.read(UInt32.self)
            guard let elementType = GGUFValueType(rawValue: elementID) else {
                throw .unknownValueType(elementID, key: key)
            }
            if elementType == .array && depth + 1 >= maxArrayNesting { throw .nestingTooDeep(key: key) }
            let count = try cursor.readCount(
                what: "array length of '\(key)'", minimumBytesEach: elementType.minimumEncodedBytes)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(try readValue(elementType, key: key, depth: depth + 1, cursor: &cursor))
            }
            return .array(elements)
        }
    }

    private static func readTensorInfo(cursor: inout GGUFByteCursor) throws(GGUFError) -> GGUFTensorInfo {
        let name = try cursor.readString()
        let dimensionCount = try cursor.read(UInt32.self)
        guard dimensionCount <= UInt32(maxDimensions) else {
            throw .invalidTensorShape(tensor: name, dimensions: [UInt64(dimensionCount)], type: 0)
        }
        var raw: [UInt64] = []
        for _ in 0..<Int(dimensionCount) { raw.append(try cursor.read(UInt64.self)) }
        let typeID = try cursor.read(UInt32.self)
        let offsetField = try cursor.read(UInt64.self)
        guard let type = GGMLType(rawValue: typeID) else { throw .unknownTensorType(typeID, tensor: name) }

        // Every extent must fit in Int, their product must not overflow, the byte size must not
        // overflow, and ne0 must be whole blocks.
        var dimensions: [Int] = []
        var elements = 1
        for d in raw {
            guard let extent = Int(exactly: d) else {
                throw .invalidTensorShape(tensor: name, dimensions: raw, type: typeID)
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw .invalidTensorShape(tensor: name, dimensions: raw, type: typeID) }
            elements = product
            dimensions.append(extent)
        }
        let rowLength = dimensions.first ?? 1
        guard let rowBytes = type.rowBytes(elements: rowLength) else {
            throw .invalidTensorShape(tensor: name, dimensions: raw, type: typeID)
        }
        let rows = rowLength == 0 ? 0 : elements / rowLength
        guard !rows.multipliedReportingOverflow(by: rowBytes).overflow else {
            throw .invalidTensorShape(tensor: name, dimensions: raw, type: typeID)
        }
        guard let offset = Int(exactly: offsetField) else {
            throw .tensorOutOfBounds(tensor: name, offset: Int.max, byteCount: rows * rowBytes, dataSize: cursor.size)
        }
        return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset)
    }
}
