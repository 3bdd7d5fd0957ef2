import Foundation
import LanguageModel

/// The 64-bit fingerprint of a model that names its blocks in kvd (PROTOCOL.md §6.1): FNV-1a
/// over the file size and every 8-byte word of the file (weights included), then the
/// arithmetic's ``ActivationPrecision``, so two files with different weights, or one file run
/// with different activation precision (which computes different K/V), never share blocks.
public enum ModelFingerprint {
    /// Fingerprint of the file at `path` run with `activations`.
    /// - Throws: the file-system error when the file cannot be read.
    public static func of(path: String, activations: ActivationPrecision) throws -> UInt64 {
        var h = try of(path: path)
        for byte in activations.rawValue.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }

    /// Fingerprint of the file at `path` alone (what ``of(path:activations:)`` extends).
    /// - Throws: the file-system error when the file cannot be read.
    public static func of(path: String) throws -> UInt64 {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        h = (h ^ UInt64(data.count)) &* 0x100_0000_01b3
        data.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words {
                let w = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                h = (h ^ w) &* 0x100_0000_01b3
            }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01b3 }
        }
        return h
    }
}
