import Protocol
import Testing
@testable import KVDaemon

struct RetrievalEngineTests {
    let keys: [Float] = (0..<(20 * 4)).map { Float(($0 * 37) % 23) - 11 }

    func request(_ method: RetrievalMethod) -> RetrieveRequest {
        RetrieveRequest(session: "s", layer: 0, method: method, mode: .decode, chunkSequence: 0, probe: [1, -2, 0.5, 3])
    }

    @Test func denseChoosesEveryBlockFixedTopKChoosesK() {
        let engine = RetrievalEngine(fixedTopK: 5)
        keys.withUnsafeBufferPointer { buffer in
            let dense = engine.select(session: "s", request: request(.dense), keys: buffer, count: 20)
            #expect(dense.k == 20 && dense.chosen == Array(0..<20))
            let topK = engine.select(session: "s", request: request(.infllm), keys: buffer, count: 20)
            #expect(topK.k == 5 && topK.chosen.count == 5)
            let few = engine.select(session: "s", request: request(.actqkv), keys: buffer, count: 3)
            #expect(few.chosen.count == 3, "min(N, K)")
        }
    }

    @Test func stateIsKeptPerSessionUntilForgotten() {
        let engine = RetrievalEngine(fixedTopK: 5)
        #expect(engine.snapshot(session: "a").isEmpty)
        engine.restore(session: "a", state: [1, 2, 3])
        #expect(engine.snapshot(session: "a") == [1, 2, 3])
        #expect(engine.snapshot(session: "b").isEmpty)
        engine.forget(session: "a")
        #expect(engine.snapshot(session: "a").isEmpty)
    }
}
