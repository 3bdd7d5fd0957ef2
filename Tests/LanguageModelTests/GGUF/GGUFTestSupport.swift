import Foundation
import Testing
@testable import LanguageModel

/// Shared helpers for the GGUF tests.
enum GGUFTestSupport {
    /// Path of the real model: `ACTQKV_MODEL`, else `$HOME/.cache/actqkv/models/…Q4_1.gguf`.
    static var modelPath: String {
        if let path = ProcessInfo.processInfo.environment["ACTQKV_MODEL"], !path.isEmpty { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        return home + "/.cache/actqkv/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// A fresh path in a per-process temporary directory.
    static func temporaryPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "actqkv-gguf-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + UUID().uuidString + "-" + name
    }

    /// Reads a whole file (test helper; the reader itself never does this).
    static func readBytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func writeTemporary(_ bytes: [UInt8], name: String = "t.gguf") throws -> String {
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// IEEE binary16 bits of `value` (exactly representable values only, for hand-written blocks).
    static func half(_ value: Double) -> [UInt8] {
        let bits = Float16(value).bitPattern
        precondition(Double(Float16(bitPattern: bits)) == value, "\(value) is not exactly representable in f16")
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    /// Largest |a − b| / max(|b|, floor) over two equal-length sequences.
    static func maxRelativeError(_ a: [Float], _ b: [Double], floor: Double = 1e-6) -> Double {
        precondition(a.count == b.count)
        var worst = 0.0
        for (x, y) in zip(a, b) { worst = max(worst, abs(Double(x) - y) / max(abs(y), floor)) }
        return worst
    }
}

extension GGUFTestSupport {
    /// Writes `bytes` to `path`.
    static func writeTemporaryAt(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

extension GGUFTestSupport {
    /// Deletes a test file if it exists.
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
