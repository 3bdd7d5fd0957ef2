import CoreTypes
import Foundation
@testable import KVStore
@testable import StoreBenchmarks

/// A fresh temporary directory, removed by `cleanup()`.
struct TempDirectory {
    let path: String
    init(_ label: String = #function) {
        let base = FileManager.default.temporaryDirectory.path
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = "\(base)/kvstore-tests-\(safe)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Deterministic pseudo-random numbers for test data.
struct TestRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
    mutating func u64() -> UInt64 { generator.next() }
}

/// A small model shape for store tests (SmolLM2-like heads, few layers, small blocks).
func testDescriptor(layers: Int = 3, blockSize: Int = 16, fingerprint: UInt64 = 0xF00D) -> ModelDescriptor {
    ModelDescriptor(layers: layers, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16,
                    blockSize: blockSize, fingerprint: fingerprint)
}

/// K then V like a model's (see `ModelLikeData`).
func modelLikePayload(_ d: ModelDescriptor, seed: UInt64) -> [UInt8] {
    ModelLikeData.payload(descriptor: d, seed: seed)
}

/// A representative key of D floats (not all zero).
func testKey(_ d: ModelDescriptor, seed: UInt64) -> [Float] {
    ModelLikeData.representativeKey(descriptor: d, seed: seed)
}

/// A prefix hash for (`stream`, layer-independent block index).
func testPrefix(stream: UInt64, index: Int) -> PrefixHash {
    var rng = TestRandom(seed: stream &* 1_000_003 &+ UInt64(index))
    return PrefixHash(high: rng.u64(), low: rng.u64())
}

/// The blocks `positions` of every layer of a token stream `stream`.
func testBlocks(_ d: ModelDescriptor, stream: UInt64, positions: Range<Int>, layers: [Int]? = nil) -> [NewBlock] {
    var blocks: [NewBlock] = []
    for p in positions {
        for l in layers ?? Array(0..<d.layers) {
            let seed = stream &* 7919 &+ UInt64(p) &* 131 &+ UInt64(l)
            blocks.append(NewBlock(
                layer: l, position: p, prefixHash: testPrefix(stream: stream, index: p),
                representativeKey: testKey(d, seed: seed), payload: modelLikePayload(d, seed: seed)))
        }
    }
    return blocks
}

func openStore(_ dir: TempDirectory, _ configure: (inout StoreConfiguration) -> Void = { _ in }) throws -> KVStore {
    var c = StoreConfiguration(directory: dir.path)
    c.mapSize = 1 << 30
    configure(&c)
    return try KVStore(configuration: c)
}
