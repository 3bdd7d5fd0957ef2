import CoreTypes
import Testing
@testable import ActQKV

@Suite("ProbeState and SelectionState encodings")
struct StateCodingTests {
    let d = 16

    /// A session with statistics, histories and a pool in flight (chunk 5 stopped after layer 1).
    func busyState(scope: StatisticsScope = .perLayer) throws -> SessionState {
        let cfg = RetrievalConfig(topK: 4, minBlocks: 1, maxBlocks: 8, historyLength: 3, statisticsWarmup: 2,
                                  blockCacheCapacity: 8, statisticsScope: scope, warmupUnit: .tokens)
        var state = try SessionState(config: cfg, layers: 4)
        _ = try advance(&state, chunks: 0..<5, seed: 1)
        var rng = SeededRandom(seed: 2)
        for layer in 0..<2 {
            _ = try select(&state.selection, layer: layer, chunk: 5, mode: .decode, method: .actqkvReference, probe: rng.floats(d), keys: rng.floats(9 * d), count: 9)
        }
        return state
    }

    func advance(_ state: inout SessionState, chunks: Range<Int>, seed: UInt64) throws -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        var out: [[Int]] = []
        for chunk in chunks {
            for layer in 0..<state.selection.layers {
                let q = rng.floats(3 * d)
                let probe = try q.withUnsafeBufferPointer { try state.probes.probe(layer: layer, method: .actqkvReference, queries: $0, count: 3) }
                let n = chunk + layer
                out.append(try select(&state.selection, layer: layer, chunk: UInt64(chunk), mode: chunk < 3 ? .prefill : .decode,
                                      method: .actqkvReference, probe: probe.vector, keys: rng.floats(n * d), count: n).chosen)
            }
        }
        return out
    }

    /// Both halves decoded from their own encodings.
    func decoded(_ state: SessionState) throws -> SessionState {
        var out = state
        out.probes = try ProbeState(decoding: state.probes.encoded())
        out.selection = try SelectionState(decoding: state.selection.encoded())
        return out
    }

    @Test("encode → decode → encode is byte-identical", arguments: [StatisticsScope.shared, .perLayer])
    func roundTrip(scope: StatisticsScope) throws {
        let state = try busyState(scope: scope)
        let again = try decoded(state)
        #expect(again == state)
        #expect(again.probes.encoded() == state.probes.encoded())
        #expect(again.selection.encoded() == state.selection.encoded())
        #expect(!state.selection.pools.isEmpty && state.selection.histories.allSatisfy { !$0.values.isEmpty })
        #expect(state.probes.statistics.allSatisfy { $0.calls > 0 })
        let fresh = try SessionState(config: RetrievalConfig(), layers: 30)
        #expect(try ProbeState(decoding: fresh.probes.encoded()).encoded() == fresh.probes.encoded())
        #expect(try SelectionState(decoding: fresh.selection.encoded()).encoded() == fresh.selection.encoded())
    }

    @Test("a resumed session continues identically")
    func resume() throws {
        var original = try busyState()
        var resumed = try decoded(original)
        let a = try advance(&original, chunks: 6..<12, seed: 9)
        let b = try advance(&resumed, chunks: 6..<12, seed: 9)
        #expect(a == b)
        #expect(original == resumed)
    }

    @Test("truncated encodings are rejected with a typed error")
    func truncated() throws {
        let state = try busyState()
        let probes = state.probes.encoded(), selection = state.selection.encoded()
        for cut in 0..<probes.count {
            #expect(throws: StateDecodingError.self) { _ = try ProbeState(decoding: Array(probes[..<cut])) }
        }
        for cut in 0..<selection.count {
            #expect(throws: StateDecodingError.self) { _ = try SelectionState(decoding: Array(selection[..<cut])) }
        }
        #expect(throws: StateDecodingError.truncated(needed: 4, remaining: 0)) { _ = try ProbeState(decoding: []) }
        #expect(throws: StateDecodingError.truncated(needed: 4, remaining: 0)) { _ = try SelectionState(decoding: []) }
    }

    @Test("any flipped bit is rejected (CRC-32); each owner reads only its own encoding")
    func corrupted() throws {
        let state = try busyState()
        let probes = state.probes.encoded(), selection = state.selection.encoded()
        for i in 0..<probes.count {
            var bad = probes
            bad[i] ^= UInt8(1 << (i % 8))
            #expect(throws: StateDecodingError.self) { _ = try ProbeState(decoding: bad) }
        }
        for i in 0..<selection.count {
            var bad = selection
            bad[i] ^= UInt8(1 << (i % 8))
            #expect(throws: StateDecodingError.self) { _ = try SelectionState(decoding: bad) }
        }
        var magic = probes; magic[0] = 0x58
        #expect(throws: StateDecodingError.badMagic) { _ = try ProbeState(decoding: magic) }
        var version = selection; version[4] = 9
        #expect(throws: StateDecodingError.unsupportedVersion(9)) { _ = try SelectionState(decoding: version) }
        #expect(throws: StateDecodingError.badMagic) { _ = try SelectionState(decoding: probes) }
        #expect(throws: StateDecodingError.badMagic) { _ = try ProbeState(decoding: selection) }
        #expect(Array(probes[0..<6]) == Array("AQPS".utf8) + [1, 0])
        #expect(Array(selection[0..<6]) == Array("AQSS".utf8) + [1, 0])
    }

    @Test("a well-formed encoding of an invalid configuration is rejected")
    func invalidConfig() throws {
        let fresh = try SessionState(config: RetrievalConfig(), layers: 2)
        func withCapacity10(_ encoded: [UInt8]) -> [UInt8] {
            var bytes = encoded
            // Block cache capacity C is the i64 after 11 i64s and 2 f32s following the 8-byte header.
            let offset = 8 + 11 * 8 + 8
            bytes[offset] = 10
            let body = bytes[..<(bytes.count - 4)]
            let crc = CRC32.checksum(body)
            bytes.replaceSubrange((bytes.count - 4)..., with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
            return bytes
        }
        let error = StateDecodingError.invalidConfig(.cacheSmallerThanMaxBlocks(capacity: 10, maxBlocks: 92))
        #expect(throws: error) { _ = try ProbeState(decoding: withCapacity10(fresh.probes.encoded())) }
        #expect(throws: error) { _ = try SelectionState(decoding: withCapacity10(fresh.selection.encoded())) }
        #expect(StateDecodingError.badMagic.code == 302)
    }
}

/// The previous release's "AQRS" version 1 (one `RetrievalState` written whole by the worker and
/// by kvd) is migrated: each owner keeps its half.
@Suite("Migration of the previous release's retrieval state")
struct LegacyStateMigrationTests {
    @Test("this build's replay of the golden inputs chooses the blocks the previous release chose")
    func behaviourUnchanged() throws {
        let (_, chosen) = try LegacyStates.daemon()
        #expect(chosen == LegacyStates.daemonChosen)
    }

    @Test("the test's field-by-field encoder writes exactly the previous release's bytes")
    func legacyEncoderMatchesTheGoldens() throws {
        let fresh = try SessionState(config: LegacyStates.config, layers: 3)
        #expect(LegacyStates.encode(try LegacyStates.worker(), fresh.selection) == LegacyStates.workerBytes)
        #expect(LegacyStates.encode(fresh.probes, try LegacyStates.daemon().0) == LegacyStates.daemonBytes)
    }

    @Test("the worker's old state becomes its ProbeState; kvd's becomes its SelectionState; both continue identically")
    func goldensMigrate() throws {
        let probes = try ProbeState(decoding: LegacyStates.workerBytes)
        let selection = try SelectionState(decoding: LegacyStates.daemonBytes)
        #expect(probes == (try LegacyStates.worker()))
        #expect(selection == (try LegacyStates.daemon().0))
        #expect(probes.statistics.map(\.calls) == [4, 4, 4])
        #expect(selection.pools == [4: 4] && selection.histories.allSatisfy { $0.values.count == 3 })
        // Written again in this build's own encodings, which read back equal.
        #expect(try ProbeState(decoding: probes.encoded()) == probes)
        #expect(try SelectionState(decoding: selection.encoded()) == selection)
        #expect(probes.encoded().count < LegacyStates.workerBytes.count && selection.encoded().count < LegacyStates.daemonBytes.count)
    }

    @Test("a whole old state (both halves used, as in one process) splits into its halves", arguments: [StatisticsScope.shared, .perLayer])
    func wholeStateSplits(scope: StatisticsScope) throws {
        let state = try StateCodingTests().busyState(scope: scope)
        let old = LegacyStates.encode(state.probes, state.selection)
        var migrated = state
        migrated.probes = try ProbeState(decoding: old)
        migrated.selection = try SelectionState(decoding: old)
        #expect(migrated == state)
        var original = state
        let a = try StateCodingTests().advance(&original, chunks: 6..<12, seed: 9)
        let b = try StateCodingTests().advance(&migrated, chunks: 6..<12, seed: 9)
        #expect(a == b)
    }

    @Test("a damaged old state is a typed error, never a trap")
    func damagedLegacy() throws {
        let bytes = LegacyStates.daemonBytes
        for cut in 0..<bytes.count {
            #expect(throws: StateDecodingError.self) { _ = try SelectionState(decoding: Array(bytes[..<cut])) }
        }
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= UInt8(1 << (i % 8))
            #expect(throws: StateDecodingError.self) { _ = try SelectionState(decoding: bad) }
            #expect(throws: StateDecodingError.self) { _ = try ProbeState(decoding: bad) }
        }
        var version = bytes; version[4] = 2
        #expect(throws: StateDecodingError.unsupportedVersion(2)) { _ = try SelectionState(decoding: version) }
        #expect(StateDecodingError.unsupportedVersion(2).code == 303)
    }
}
