import CoreTypes
@testable import LanguageModel

/// Writes GGUF bytes field by field with no validation, so tests can build malformed files.
struct GGUFRawBuilder {
    /// The fields written so far (CoreTypes' little-endian writer).
    var writer = ByteWriter()
    var bytes: [UInt8] {
        get { writer.bytes }
        set { writer.bytes = newValue }
    }

    mutating func u8(_ v: UInt8) { writer.u8(v) }
    mutating func u32(_ v: UInt32) { writer.u32(v) }
    mutating func u64(_ v: UInt64) { writer.u64(v) }
    mutating func string(_ s: String) { writer.ggufString(s) }

    /// Magic, version, tensor count, metadata count.
    mutating func header(magic: UInt32 = 0x4655_4747, version: UInt32 = 3, tensors: UInt64, metadata: UInt64) {
        u32(magic)
        u32(version)
        u64(tensors)
        u64(metadata)
    }

    mutating func stringEntry(_ key: String, _ value: String) {
        string(key)
        u32(8)
        string(value)
    }

    mutating func uint32Entry(_ key: String, _ value: UInt32) {
        string(key)
        u32(4)
        u32(value)
    }

    mutating func tensorInfo(_ name: String, dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        for d in dimensions { u64(d) }
        u32(type)
        u64(offset)
    }

    mutating func pad(to alignment: Int = 32) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// Appends `count` bytes of non-zero filler.
    mutating func filler(_ count: Int) {
        bytes += (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    /// A minimal valid file: architecture `arch`, one F32 tensor "w" of `[4, 2]`.
    static func minimal(arch: String = "llama") -> [UInt8] {
        var b = GGUFRawBuilder()
        b.header(tensors: 1, metadata: 1)
        b.stringEntry("general.architecture", arch)
        b.tensorInfo("w", dimensions: [4, 2], type: 0, offset: 0)
        b.pad()
        b.filler(32)
        return b.bytes
    }
}
