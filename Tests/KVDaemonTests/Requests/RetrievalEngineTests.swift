import CoreTypes
import Protocol
import Testing
@testable import KVDaemon

/// The daemon's use of the ActQKV selection: per-session state, snapshots, typed errors.
struct RetrievalEngineTests {
    static let dimension = 8
    /// 40 blocks of deterministic, non-zero keys.
    let keys: [Float] = (0..<(40 * RetrievalEngineTests.dimension)).map { Float(($0 * 37) % 23) - 11 + 0.25 }
    let probe: [Float] = [1, -2, 0.5, 3, -1, 0.75, 2, -0.5]

    func request(_ method: RetrievalMethod, layer: UInt16 = 0, chunk: UInt64 = 0, mode: RetrievalMode = .decode) -> RetrieveRequest {
        RetrieveRequest(session: "s", layer: layer, method: method, mode: mode, chunkSequence: chunk, probe: probe)
    }

    @Test func denseChoosesEveryBlockInfLLMChoosesTheTopKByInnerProduct() throws {
        let engine = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        try keys.withUnsafeBufferPointer { buffer in
            let dense = try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.dense), keys: buffer, count: 40)
            #expect(dense.chosen.count == 40)
            let top = try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.infllm), keys: buffer, count: 40)
            #expect(top.chosen.count == 5)
            let scores = (0..<40).map { row in (0..<Self.dimension).reduce(0.0) { $0 + Double(keys[row * Self.dimension + $1]) * Double(probe[$1]) } }
            let threshold = top.chosen.map { scores[$0] }.min()!
            for row in 0..<40 where !top.chosen.contains(row) { #expect(scores[row] <= threshold + 1e-4) }
        }
    }

    @Test func actqkvStateIsKeptPerSessionSnapshottedAndRestored() throws {
        let engine = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        #expect(engine.snapshot(session: 1).isEmpty)
        try keys.withUnsafeBufferPointer { buffer in
            let selection = try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.actqkv), keys: buffer, count: 40)
            #expect(!selection.chosen.isEmpty)
            #expect(selection.density > 0 && selection.density <= 1)
        }
        let snapshot = engine.snapshot(session: 1)
        #expect(!snapshot.isEmpty, "the density history of layer 0 was recorded")
        #expect(engine.snapshot(session: 2).isEmpty)
        engine.forget(session: 1)
        #expect(engine.snapshot(session: 1).isEmpty)
        try engine.restore(session: 1, state: snapshot)
        #expect(engine.snapshot(session: 1) == snapshot)
        #expect(throws: ProtocolError.self) { try engine.restore(session: 1, state: [1, 2, 3]) }
    }

    @Test func badLayerAndSizesAreTypedErrors() throws {
        let engine = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        keys.withUnsafeBufferPointer { buffer in
            #expect(throws: ProtocolError(.badPosition, "\(ActQKVErrorText.layer)")) {
                try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.infllm, layer: 7), keys: buffer, count: 40)
            }
            #expect(throws: ProtocolError.self) {
                try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.infllm), keys: buffer, count: 41)
            }
        }
    }

    /// The λ a `retrieve` carries is the one the daemon scores with (`actqkv-ref`, which ranks by
    /// the cosine with the question term): λ = 0 chooses as no question
    /// does, a large λ puts the block the question points at first, a negative λ is refused.
    @Test func theQuestionWeightOfTheRequestIsUsed() throws {
        let engine = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        func chosen(_ session: String, _ term: QuestionTerm?) throws -> [Int] {
            var r = RetrieveRequest(session: session, layer: 0, method: .actqkvReference, mode: .prefill, chunkSequence: 0, probe: probe)
            r.question = term
            return try keys.withUnsafeBufferPointer {
                try engine.select(session: session.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) },  layers: 2, blockSize: 4, request: r, keys: $0, count: 40).chosen
            }
        }
        let plain = try chosen("plain", nil)
        let target = try #require((0..<40).first { !plain.contains($0) })
        let question = Array(keys[(target * Self.dimension)..<((target + 1) * Self.dimension)])
        #expect(try chosen("zero", QuestionTerm(vector: question, weight: 0)) == plain)
        let heavy = try chosen("heavy", QuestionTerm(vector: question, weight: 1000))
        #expect(heavy.contains(target), "λ = 1000 chooses the block the question points at")
        #expect(throws: ProtocolError.self) { try chosen("negative", QuestionTerm(vector: question, weight: -1)) }
    }

    @Test func invalidTopKIsRefused() {
        #expect(throws: (any Error).self) { try RetrievalEngine(retrievalTokens: 0, budgetGrowth: 0).validate() }
        #expect(throws: (any Error).self) { try RetrievalEngine(retrievalTokens: 1, budgetGrowth: -1).validate() }
        #expect(throws: Never.self) { try RetrievalEngine(retrievalTokens: 1, budgetGrowth: 0).validate() }
        #expect(throws: Never.self) { try RetrievalEngine(retrievalTokens: 1, budgetGrowth: 8).validate() }
    }
}

/// A checkpoint slot written by the previous release holds its whole `RetrievalState` ("AQRS"
/// version 1); kvd migrates it to its `SelectionState` on restore.
struct RetrievalEngineMigrationTests {
    /// kvd's "AQRS" version 1 as the previous release wrote it (generated by that code, commit
    /// a4cc707; the same bytes as ActQKVTests' `LegacyStates.daemonBytes`): 3 layers, D 8, full
    /// density histories, chunk 4's pool in flight after layer 1.
    static let legacy = bytes(fromHex: [
        "415152530100000040000000000000000002000000000000000100000000000020000000000000000400000000000000",
        "04000000000000000100000000000000080000000000000003000000000000000200000000000000e803000000000000",
        "0ad7233c0000804008000000000000000101030000000300000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000000000000000030000008bf1793ffd89",
        "773f3726783f0300000006bf7c3f7fb57c3f02e17d3f03000000714c663f05037c3fb1cc723f01000000040000000000",
        "000004000000000000005461dc19"
    ])

    static func bytes(fromHex lines: [String]) -> [UInt8] {
        let hex = Array(lines.joined().utf8)
        return stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }

    /// Layer 2 of chunk 4 (the pool in flight), then chunks 5–7 on every layer, decode mode.
    func continueSelecting(_ engine: RetrievalEngine) throws -> [[UInt32]] {
        let d = RetrievalEngineTests.dimension
        let keys: [Float] = (0..<(12 * d)).map { Float(($0 * 29) % 17) - 8 + 0.5 }
        var out: [[UInt32]] = []
        for (chunk, layer) in [(4, 2)] + (5..<8).flatMap({ c in (0..<3).map { (c, $0) } }) {
            let probe: [Float] = (0..<d).map { Float(($0 * 7 + chunk * 3 + layer) % 11) - 5 + 0.25 }
            let request = RetrieveRequest(session: "s", layer: UInt16(layer), method: .actqkv, mode: .decode, chunkSequence: UInt64(chunk), probe: probe)
            let count = 6 + chunk % 3 + layer
            let selection = try keys[0..<(count * d)].withUnsafeBufferPointer {
                try engine.select(session: 1, layers: 3, blockSize: 4, request: request, keys: $0, count: count)
            }
            out.append(selection.chosen.map(UInt32.init))
        }
        return out
    }

    @Test func aSlotOfThePreviousReleaseIsRestoredAndContinuesAsItsMigratedSnapshot() throws {
        let old = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        try old.restore(session: 1, state: Self.legacy)
        let snapshot = old.snapshot(session: 1)
        #expect(Array(snapshot.prefix(6)) == Array("AQSS".utf8) + [1, 0], "written again in this build's encoding")
        #expect(snapshot.count < Self.legacy.count, "without the activation statistics")
        let again = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        try again.restore(session: 1, state: snapshot)
        #expect(try continueSelecting(old) == continueSelecting(again))
        #expect(old.snapshot(session: 1) == again.snapshot(session: 1))
    }

    @Test func aDamagedSlotOfThePreviousReleaseIsAStorageError() throws {
        let engine = RetrievalEngine(retrievalTokens: 20, budgetGrowth: 0)
        for cut in stride(from: 1, to: Self.legacy.count, by: 5) {
            #expect(throws: ProtocolError.self) { try engine.restore(session: 1, state: Array(Self.legacy[..<cut])) }
        }
        var bad = Self.legacy
        bad[40] ^= 0x10
        do {
            try engine.restore(session: 1, state: bad)
            Issue.record("a corrupted state was restored")
        } catch let error as ProtocolError {
            #expect(error.code == .storageError && error.message.contains("code 304"), "\(error)")
        }
        #expect(engine.snapshot(session: 1).isEmpty, "nothing was restored")
    }
}

enum ActQKVErrorText {
    static let layer = "layerOutOfRange(layer: 7, layers: 2)"
}
