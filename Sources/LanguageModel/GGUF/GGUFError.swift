/// Every way reading, validating, dequantising or writing a GGUF file can fail.
///
/// Each case has a stable numeric ``code`` (never reused or renumbered) so that logs, CLI exit
/// messages and other modules can match on it. Offsets and sizes are in bytes; an `offset` is
/// from the start of the file unless a case says otherwise.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened (code 1). `errno` is the C `errno` of `open(2)`.
    case cannotOpen(path: String, errno: Int32)
    /// `fstat(2)` or `mmap(2)` failed on an opened file (code 2).
    case cannotMap(path: String, errno: Int32)
    /// The file ends before a field that must be there (code 3): `needed` bytes were wanted at
    /// `offset`, but the file has only `fileSize` bytes.
    case truncated(offset: Int, needed: Int, fileSize: Int)
    /// The first four bytes are not `GGUF` (code 4). `found` is them read as a little-endian UInt32.
    case badMagic(found: UInt32)
    /// The version field is not 2 or 3 (code 5).
    case unsupportedVersion(UInt32)
    /// A metadata value (or array element) has a type id outside the GGUF value types (code 6).
    case unknownValueType(UInt32, key: String)
    /// A tensor's type id is not a known GGML type (code 7).
    case unknownTensorType(UInt32, tensor: String)
    /// A tensor's bytes (data-section `offset` + `byteCount`) extend past the end of the file (code 8).
    case tensorOutOfBounds(tensor: String, offset: Int, byteCount: Int, dataSize: Int)
    /// `general.architecture` names an architecture the model loader cannot run (code 9).
    case unsupportedArchitecture(String)
    /// A count or length field cannot possibly fit in the bytes that remain in the file (code 10);
    /// rejected before anything is allocated for it. `what` says which field.
    case implausibleCount(what: String, count: UInt64, offset: Int)
    /// A tensor's dimensions are invalid (code 11): more than 4, negative, overflowing, or `ne0`
    /// not a multiple of the type's block size.
    case invalidTensorShape(tensor: String, dimensions: [UInt64], type: UInt32)
    /// A tensor's data offset is not a multiple of the file's alignment (code 12).
    case misalignedTensor(tensor: String, offset: Int, alignment: Int)
    /// Two tensors in the table have the same name (code 13).
    case duplicateTensor(String)
    /// Two metadata entries have the same key (code 14).
    case duplicateKey(String)
    /// `general.alignment` is zero, not a power of two, not an integer, or absurdly large (code 15).
    case invalidAlignment(String)
    /// A required metadata key is absent (code 16).
    case missingMetadata(key: String)
    /// A metadata key is present but its value has the wrong type (code 17).
    case metadataTypeMismatch(key: String, expected: String)
    /// The tensor's type is readable but has no Float32 dequantiser here (code 18).
    case unsupportedDequantization(GGMLType)
    /// A row range lies outside the tensor's rows (code 19).
    case rowRangeOutOfBounds(tensor: String, lower: Int, upper: Int, rowCount: Int)
    /// A caller-provided output buffer has fewer elements than required (code 20).
    case bufferTooSmall(needed: Int, available: Int)
    /// Metadata arrays are nested deeper than ``GGUFLimits/maxArrayNesting`` (code 21).
    case nestingTooDeep(key: String)
    /// Writing the file failed (code 22). `errno` is the C `errno` of the failing call.
    case writeFailed(path: String, errno: Int32)
    /// The writer was given inconsistent tensor data (code 23): wrong element or byte count,
    /// a type it cannot encode, or a non-block-multiple row.
    case invalidTensorData(tensor: String, reason: String)
    /// The writer was given a metadata array whose elements are not all of one type (code 24).
    case invalidMetadataArray(key: String)
    /// No tensor with this name exists in the file (code 25).
    case tensorNotFound(String)
    /// A tensor's dimensions do not match what the caller requires (code 26).
    case unexpectedTensorShape(tensor: String, expected: [Int], found: [Int])

    /// Stable numeric code of this error (1...26). Never reused or renumbered.
    public var code: Int {
        switch self {
        case .cannotOpen: 1
        case .cannotMap: 2
        case .truncated: 3
        case .badMagic: 4
        case .unsupportedVersion: 5
        case .unknownValueType: 6
        case .unknownTensorType: 7
        case .tensorOutOfBounds: 8
        case .unsupportedArchitecture: 9
        case .implausibleCount: 10
        case .invalidTensorShape: 11
        case .misalignedTensor: 12
        case .duplicateTensor: 13
        case .duplicateKey: 14
        case .invalidAlignment: 15
        case .missingMetadata: 16
        case .metadataTypeMismatch: 17
        case .unsupportedDequantization: 18
        case .rowRangeOutOfBounds: 19
        case .bufferTooSmall: 20
        case .nestingTooDeep: 21
        case .writeFailed: 22
        case .invalidTensorData: 23
        case .invalidMetadataArray: 24
        case .tensorNotFound: 25
        case .unexpectedTensorShape: 26
        }
    }

    /// A one-line human-readable explanation, prefixed with `GGUF error <code>`.
    public var description: String {
        let text: String
        switch self {
        case .cannotOpen(let path, let e): text = "cannot open \(path) (errno \(e))"
        case .cannotMap(let path, let e): text = "cannot memory-map \(path) (errno \(e))"
        case .truncated(let offset, let needed, let size):
            text = "file truncated: \(needed) bytes needed at offset \(offset), file has \(size) bytes"
        case .badMagic(let found):
            text = "bad magic 0x\(String(found, radix: 16)) (expected 'GGUF'); not a GGUF file"
        case .unsupportedVersion(let v): text = "unsupported GGUF version \(v) (supported: 2, 3)"
        case .unknownValueType(let t, let key): text = "unknown metadata value type \(t) for key '\(key)'"
        case .unknownTensorType(let t, let name): text = "unknown tensor type id \(t) for tensor '\(name)'"
        case .tensorOutOfBounds(let name, let offset, let count, let size):
            text = "tensor '\(name)' data [\(offset), \(offset)+\(count)) lies outside the \(size)-byte data section"
        case .unsupportedArchitecture(let arch): text = "unsupported model architecture '\(arch)' (supported: llama)"
        case .implausibleCount(let what, let count, let offset):
            text = "\(what) \(count) at offset \(offset) cannot fit in the rest of the file"
        case .invalidTensorShape(let name, let dims, let type):
            text = "tensor '\(name)' has invalid dimensions \(dims) for type \(type)"
        case .misalignedTensor(let name, let offset, let alignment):
            text = "tensor '\(name)' offset \(offset) is not a multiple of the alignment \(alignment)"
        case .duplicateTensor(let name): text = "duplicate tensor name '\(name)'"
        case .duplicateKey(let key): text = "duplicate metadata key '\(key)'"
        case .invalidAlignment(let value): text = "invalid general.alignment \(value) (must be a power of two)"
        case .missingMetadata(let key): text = "missing metadata key '\(key)'"
        case .metadataTypeMismatch(let key, let expected): text = "metadata key '\(key)' is not \(expected)"
        case .unsupportedDequantization(let type): text = "no Float32 dequantiser for tensor type \(type)"
        case .rowRangeOutOfBounds(let name, let lower, let upper, let rows):
            text = "rows \(lower)..<\(upper) out of bounds for tensor '\(name)' with \(rows) rows"
        case .bufferTooSmall(let needed, let available):
            text = "output buffer holds \(available) floats, \(needed) needed"
        case .nestingTooDeep(let key): text = "metadata arrays nested too deeply under key '\(key)'"
        case .writeFailed(let path, let e): text = "writing \(path) failed (errno \(e))"
        case .invalidTensorData(let name, let reason): text = "invalid data for tensor '\(name)': \(reason)"
        case .invalidMetadataArray(let key): text = "metadata array '\(key)' mixes element types"
        case .tensorNotFound(let name): text = "no tensor named '\(name)'"
        case .unexpectedTensorShape(let name, let expected, let found):
            text = "tensor '\(name)' has shape \(found), expected \(expected)"
        }
        return "GGUF error \(code): \(text)"
    }
}
