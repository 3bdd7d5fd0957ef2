import Testing
@testable import ActQKV

@Suite("RetrievalState encoding")
struct RetrievalStateCodingTests {
    let d = 16

    /// A state with statistics, histories and a pool in flight (chunk 5 stopped after layer 1).
    func busyState(scope: StatisticsScope = .perLayer) throws -> RetrievalState {
        let cfg = RetrievalConfig(topK: 4, minBlocks: 1, maxBlocks: 8, historyLength: 3, statisticsWarmup: 2,
                                  blockCacheCapacity: 8, statisticsScope: scope, warmupUnit: .tokens)
        var state = try RetrievalState(config: cfg, layers: 4)
        try advance(&state, chunks: 0..<5, seed: 1)
        var rng = SeededRandom(seed: 2)
        for layer in 0..<2 {
            _ = try select(&state, layer: layer, chunk: 5, mode: .decode, method: .actqkv, probe: rng.floats(d), keys: rng.floats(9 * d), count: 9)
        }
        return state
    }

    func advance(_ state: inout RetrievalState, chunks: Range<Int>, seed: UInt64) throws -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        var out: [[Int]] = []
        for chunk in chunks {
            for layer in 0..<state.layers {
                let q = rng.floats(3 * d)
                let probe = try q.withUnsafeBufferPointer { try state.probe(layer: layer, method: .actqkv, queries: $0, count: 3) }
                let n = chunk + layer
                out.append(try select(&state, layer: layer, chunk: UInt64(chunk), mode: chunk < 3 ? .prefill : .decode,
                                      method: .actqkv, probe: probe.vector, keys: rng.floats(n * d), count: n).chosen)
            }
        }
        return out
    }

    @Test("encode → decode → encode is byte-identical", arguments: [StatisticsScope.shared, .perLayer])
    func roundTrip(scope: StatisticsScope) throws {
        let state = try busyState(scope: scope)
        let bytes = state.encoded()
        let decoded = try RetrievalState(decoding: bytes)
        #expect(decoded == state)
        #expect(decoded.encoded() == bytes)
        #expect(!state.pools.isEmpty && state.histories.allSatisfy { !$0.values.isEmpty })
        let fresh = try RetrievalState(config: RetrievalConfig(), layers: 30)
        #expect(try RetrievalState(decoding: fresh.encoded()).encoded() == fresh.encoded())
    }

    @Test("a resumed session continues identically")
    func resume() throws {
        var original = try busyState()
        var resumed = try RetrievalState(decoding: original.encoded())
        let a = try advance(&original, chunks: 6..<12, seed: 9)
        let b = try advance(&resumed, chunks: 6..<12, seed: 9)
        #expect(a == b)
        #expect(original.encoded() == resumed.encoded())
    }

    @Test("truncated encodings are rejected with a typed error")
    func truncated() throws {
        let bytes = try busyState().encoded()
        for cut in 0..<bytes.count {
            #expect(throws: StateDecodingError.self) { _ = try RetrievalState(decoding: Array(bytes[..<cut])) }
        }
        #expect(throws: StateDecodingError.truncated(offset: 0, needed: 4)) { _ = try RetrievalState(decoding: []) }
    }

    @Test("any flipped bit is rejected (CRC-32)")
    func corrupted() throws {
        let bytes = try busyState().encoded()
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= UInt8(1 << (i % 8))
            #expect(throws: StateDecodingError.self) { _ = try RetrievalState(decoding: bad) }
        }
        var magic = bytes; magic[0] = 0x58
        #expect(throws: StateDecodingError.badMagic) { _ = try RetrievalState(decoding: magic) }
        var version = bytes; version[4] = 9
        #expect(throws: StateDecodingError.unsupportedVersion(9)) { _ = try RetrievalState(decoding: version) }
    }

    @Test("a well-formed encoding of an invalid configuration is rejected")
    func invalidConfig() throws {
        var bytes = try RetrievalState(config: RetrievalConfig(), layers: 2).encoded()
        // Block cache capacity C is the i64 after 11 i64s and 2 f32s following the 8-byte header.
        let offset = 8 + 11 * 8 + 8
        bytes[offset] = 10
        let body = bytes[..<(bytes.count - 4)]
        let crc = CRC32.checksum(body)
        bytes.replaceSubrange((bytes.count - 4)..., with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
        #expect(throws: StateDecodingError.invalidConfig(.cacheSmallerThanMaxBlocks(capacity: 10, maxBlocks: 92))) {
            _ = try RetrievalState(decoding: bytes)
        }
        #expect(StateDecodingError.badMagic.code == 302)
    }
}
