import CoreTypes
import Foundation
import StoreBenchmarks
import Testing
@testable import KVStore

@Suite("Benchmark helpers and model-like data")
struct BenchmarkAPITests {
    @Test("model-like data has the documented per-channel statistics (checked in Float64)")
    func modelLikeStatistics() {
        let d = ModelDescriptor(layers: 1, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16,
                                blockSize: 512, fingerprint: 1)
        let payload = ModelLikeData.payload(descriptor: d, seed: 3)
        #expect(payload.count == d.payloadBytes)
        let values: [Double] = stride(from: 0, to: payload.count, by: 2).map {
            Double(Float(Float16(bitPattern: UInt16(payload[$0]) | UInt16(payload[$0 + 1]) << 8)))
        }
        // V part, channel c of head 0: values[half + t*headDim + c], t over tokens.
        let half = values.count / 2
        var stds: [Double] = []
        for c in 0..<d.headDim {
            let xs = (0..<d.blockSize).map { values[half + $0 * d.headDim + c] }
            let mean = xs.reduce(0, +) / Double(xs.count)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)
            #expect(abs(mean) < 5 * variance.squareRoot() / Double(xs.count).squareRoot() + 1e-3)
            stds.append(variance.squareRoot())
        }
        // Per-channel scales differ (log-normal), so the data is neither uniform nor constant.
        #expect(stds.max()! / stds.min()! > 2)
        #expect(stds.allSatisfy { $0 > 0.01 })
        // bf16 variant has the same length and decodes to finite values.
        var b = d
        b.elementType = .bf16
        let bf = ModelLikeData.payload(descriptor: b, seed: 3)
        #expect(bf.count == d.payloadBytes)
        #expect(stride(from: 0, to: bf.count, by: 2).allSatisfy {
            Float(bitPattern: (UInt32(bf[$0]) | UInt32(bf[$0 + 1]) << 8) << 16).isFinite
        })
    }

    @Test("codec bench round-trips what it measures and reports a ratio above 1")
    func codecBench() throws {
        let r = try PayloadCodecBench.run(descriptor: testDescriptor(blockSize: 64), blocks: 4, level: 3)
        #expect(r.ratio > 1.05)
        #expect(r.rawBytes == 4 * testDescriptor(blockSize: 64).payloadBytes)
        #expect(r.encodeMBps > 0 && r.encodeMBps.isFinite)
        #expect(r.decodeMBps > 0 && r.decodeMBps.isFinite)
    }

    @Test("raw LMDB bench writes and reads every value and removes its files")
    func rawLMDBBench() throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let r = try RawLMDBBench.run(directory: dir.path, valueBytes: 49_152, count: 64)
        #expect(r.putMBps > 0 && r.putMBps.isFinite)
        #expect(r.getMBps > 0 && r.getMBps.isFinite)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"))
    }
}

@Suite("Store benchmark helper")
struct StoreBenchTests {
    @Test("store bench appends and reads back everything it measures, with group commits")
    func storeBench() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let r = try await StoreBench.run(directory: dir.path, descriptor: testDescriptor(), sessions: 4, positions: 3)
        #expect(r.appends == 12)
        #expect(r.commits >= 1)
        #expect(r.commits <= r.appends + 4)
        #expect(r.ratio > 1.05)
        #expect(r.appendMBps > 0 && r.readMBps > 0)
        // Counted by the reopened store: the reopen it timed found every block appended.
        #expect(r.blocks == 12 * testDescriptor().layers)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"))
    }
}
