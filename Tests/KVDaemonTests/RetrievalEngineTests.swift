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
        let engine = RetrievalEngine(topK: 5)
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
        let engine = RetrievalEngine(topK: 5)
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
        let engine = RetrievalEngine(topK: 5)
        keys.withUnsafeBufferPointer { buffer in
            #expect(throws: ProtocolError(.badPosition, "\(ActQKVErrorText.layer)")) {
                try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.infllm, layer: 7), keys: buffer, count: 40)
            }
            #expect(throws: ProtocolError.self) {
                try engine.select(session: 1, layers: 2, blockSize: 4, request: request(.infllm), keys: buffer, count: 41)
            }
        }
    }

    /// The λ a `retrieve` carries is the one the daemon scores with: λ = 0 chooses as no question
    /// does, a large λ puts the block the question points at first, a negative λ is refused.
    @Test func theQuestionWeightOfTheRequestIsUsed() throws {
        let engine = RetrievalEngine(topK: 5)
        func chosen(_ session: String, _ term: QuestionTerm?) throws -> [Int] {
            var r = RetrieveRequest(session: session, layer: 0, method: .actqkv, mode: .prefill, chunkSequence: 0, probe: probe)
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
        #expect(throws: (any Error).self) { try RetrievalEngine(topK: 0).validate() }
        #expect(throws: Never.self) { try RetrievalEngine(topK: 1).validate() }
    }
}

enum ActQKVErrorText {
    static let layer = "layerOutOfRange(layer: 7, layers: 2)"
}
