import Foundation
import Testing
@testable import LanguageModel

/// The file is memory-mapped (not read into memory) and unmapped when the last reference goes.
@Suite struct GGUFMappingTests {
    #if os(Linux)
    /// /proc/self/maps, read with read(2) until EOF (it reports size 0, so size-based readers
    /// stop early).
    func processMaps() throws -> String {
        let fd = open("/proc/self/maps", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            try #require(n >= 0)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lines of /proc/self/maps that map `path`.
    func mappings(of path: String) throws -> [String] {
        try processMaps().split(separator: "\n").filter { $0.hasSuffix(" " + path) }.map(String.init)
    }

    @Test func fileIsMappedReadOnlyWhileOpenAndUnmappedAfter() throws {
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        try writer.addTensor(name: "w", dimensions: [64, 64], values: GGUFWriterTests.values(4096, seed: 3), encodedAs: .q8_0)
        let path = GGUFTestSupport.temporaryPath("mapped.gguf")
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }

        do {
            let file = try GGUFFile(path: path)
            let lines = try mappings(of: path)
            #expect(lines.count == 1, "\(path): \(lines)")
            // Permissions column: readable, not writable, private ("r--p").
            #expect(lines.first?.split(separator: " ")[1] == "r--p")
            #expect(try file.dequantize(named: "w").count == 4096)
        }
        #expect(try mappings(of: path).isEmpty)
    }
    #endif
}
