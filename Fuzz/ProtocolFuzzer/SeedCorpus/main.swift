import Foundation
import Protocol

// Writes the protocol fuzzer's seed corpus: valid encoded frames of every message type, made by
// the protocol tests' `RandomMessages` (Tests/ProtocolTests/RandomMessages.swift, compiled in by
// scripts/fuzz-protocol.sh), each behind a configuration byte (see ProtocolFuzzer.swift), plus
// streams of several frames. Usage: seed-corpus DIRECTORY [SEEDS]. Deterministic.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: seed-corpus DIRECTORY [SEEDS]\n".utf8))
    exit(2)
}
let directory = URL(fileURLWithPath: arguments[1])
let seeds = arguments.count >= 3 ? Int(arguments[2]) ?? 8 : 8
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

var written = 0
@MainActor func write(_ bytes: [UInt8], _ name: String) throws {
    try Data(bytes).write(to: directory.appendingPathComponent(name))
    written += 1
}

for seed in 0..<seeds {
    var generator = RandomMessages(seed: UInt64(seed) * 7919 + 1)
    let messages = generator.everyMessage()
    var stream: [UInt8] = []
    for (index, message) in messages.enumerated() {
        let frame = try message.encodeFrame(requestID: UInt64(index + 1))
        // Configuration byte: limits profile and chunking vary with seed and message.
        let config = UInt8(truncatingIfNeeded: (seed + index) % 4 | ((seed * 3 + index) % 8) << 2)
        try write([config] + frame, "seed-\(seed)-\(message.type)")
        stream += frame
    }
    // All messages of this seed back to back, fed whole and byte by byte.
    try write([0] + stream, "stream-\(seed)-whole")
    try write([1 << 2] + stream, "stream-\(seed)-bytewise")
}
print("seed corpus: \(written) files in \(directory.path)")
