import CStoreKernels

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF),
/// the per-block checksum of raw payloads. The SSE4.2 `crc32` instruction when the CPU has it,
/// else a slicing-by-8 table (both in `CStoreKernels`).
/// Check value: CRC-32C("123456789") = 0xE3069283.
enum CRC32C {
    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        csk_crc32c(bytes.baseAddress, bytes.count)
    }

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The table implementation, whatever the CPU (tests compare it with ``checksum(_:)-([UInt8])``).
    static func portableChecksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { csk_crc32c_portable($0.baseAddress, $0.count) }
    }

    /// Whether ``checksum(_:)-([UInt8])`` uses the CPU's instruction.
    static var usesHardware: Bool { csk_crc32c_uses_hardware() != 0 }
}
