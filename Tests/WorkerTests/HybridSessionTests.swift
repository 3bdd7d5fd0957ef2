import ActQKV
import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import LanguageModelTesting
import Protocol
import Testing
@testable import LanguageModel
@testable import Worker

/// The long-context path on a hybrid model (Gemma 3 270M: 15 sliding-window layers, global
/// layers 5, 11 and 17) with a real in-process kvd, on the 1,429-token `long` fixture prompt.
@Suite(.serialized)
struct HybridSessionTests {
    static func gemmaPromptIDs() throws -> [Int32] {
        let url = URL(fileURLWithPath: ModelTestSupport.fixturesDirectory).appendingPathComponent("llamacpp-gemma3/logits/long.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try #require(object["ids"] as? [Int]).map { Int32($0) }
    }

    @Test("every block recalled: the hybrid session equals dense attention (clamped RoPE, fp16 blocks on the global layers; exact windows on the others) within 1e-4; only the global layers reach kvd")
    func allBlocksRecalledEqualsReference() async throws {
        let model = try ModelTestSupport.loadGemmaModel(activations: .float32)
        #expect(model.config.globalLayers == [5, 11, 17])
        let prompt = try Self.gemmaPromptIDs()
        #expect(prompt.count == 1429)
        let config = LongContextSessionTests.smallConfig
        let reference = ClampedDenseReference(config: model.config, retrieval: config)
        let refLogits = try LongContextTestSupport.scheduledForward(model: model, prompt: prompt, chunk: config.chunkTokens, decode: [506],
                                                                    backend: reference)
        // Not vacuous: the clamped, fp16 global layers differ measurably from true dense attention.
        let trueDense = try model.forward(tokens: prompt, attention: model.makeDenseCache(capacity: prompt.count + 4), logits: .last)
        let clampEffect = LongContextTestSupport.relativeError(refLogits[0], reference: trueDense)
        #expect(clampEffect > 1e-4, "clamping the RoPE distance should change the logits (relative change \(clampEffect))")

        let kvd = try await InProcessDaemon { $0.retrievalTokens = 4096 * 32 }
        defer { Task { try? await kvd.stop() } }
        for method in [RetrievalMethod.infllm, RetrievalMethod.actqkv] {
            let settings = LongContextSettings(method: method, retrieval: config)
            #expect(LongContextSession.descriptor(model: model, settings: settings, fingerprint: 0xF00D).layers == 3)
            let (logits, session, info) = try await LongContextSessionTests.sessionLogits(
                model: model, kvd: kvd, settings: settings, prompt: prompt, decode: [506], name: "hybrid-\(method)")
            for (i, l) in logits.enumerated() {
                let error = LongContextTestSupport.relativeError(l, reference: refLogits[i])
                #expect(error < 1e-4, "\(method), logits \(i): relative error \(error)")
            }
            // Blocks went through kvd for the three global layers only (kvd's session has three
            // layers); the sliding-window layers sent nothing: one retrieve per global layer and chunk.
            #expect(session.closedBlocks >= 30)
            #expect(info.blockCounts.count == 3 && info.blockCounts.allSatisfy { Int($0) == session.closedBlocks })
            #expect(session.counters.blocksAcknowledged == session.closedBlocks * 3)
            #expect(session.counters.retrieveRequests == 3 * Int(session.chunkSequence))
            // The sliding-window layers hold at most about two windows and a chunk each.
            #expect(session.residentKVBytes < 15 * (2 * 512 + 256) * model.config.kvWidth * 2 * 4 + 3 * 4 * 1024 * 1024)
        }
    }

    @Test("checkpoint and resume: a resumed hybrid session continues token-identically, its sliding windows restored")
    func resumeIsTokenIdentical() async throws {
        let model = try ModelTestSupport.loadGemmaModel()
        let prompt = try Self.gemmaPromptIDs()
        let settings = LongContextSettings(method: .actqkv, retrieval: LongContextSessionTests.smallConfig)
        let kvd = try await InProcessDaemon()
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        let descriptor = LongContextSession.descriptor(model: model, settings: settings, fingerprint: 0xBEEF)

        // Uninterrupted: prompt, then 8 greedy tokens.
        func greedy(_ session: LongContextSession, from logits: [Float], steps: Int) async throws -> [Int32] {
            var out: [Int32] = [], l = logits
            for _ in 0..<steps {
                let t = Int32(Sampler.argmax(l))
                out.append(t)
                l = try await session.process([t][...], mode: .decode, logits: true)
            }
            return out
        }
        _ = try await client.createSession("whole", descriptor: descriptor)
        let whole = try LongContextSession(model: model, settings: settings, fingerprint: 0xBEEF, client: client, sessionName: "whole")
        let wholeLogits = try await whole.process(prompt[...], mode: .prefill, logits: true)
        let expected = try await greedy(whole, from: wholeLogits, steps: 8)

        // Interrupted: prompt up to a chunk boundary, checkpoint, drop the session object, resume.
        _ = try await client.createSession("cut", descriptor: descriptor)
        let first = try LongContextSession(model: model, settings: settings, fingerprint: 0xBEEF, client: client, sessionName: "cut")
        let cut = 1280  // a multiple of the 128-token chunk, past two 512-token windows
        try await first.process(prompt[..<cut], mode: .prefill, logits: false)
        try await first.checkpoint()
        let (resumed, _) = try await LongContextSession.resume(model: model, settings: settings, fingerprint: 0xBEEF, client: client, sessionName: "cut")
        #expect(resumed.position == cut)
        #expect(resumed.windows.compactMap { $0?.position } == Array(repeating: cut, count: 15))
        let resumedLogits = try await resumed.process(prompt[cut...], mode: .prefill, logits: true)
        #expect(resumedLogits == wholeLogits)
        let continued = try await greedy(resumed, from: resumedLogits, steps: 8)
        #expect(continued == expected)

        // A checkpoint of this model is refused by another layer map (here: the file fingerprint differs).
        await #expect(throws: LongContextError.self) {
            _ = try await LongContextSession.resume(model: model, settings: settings, fingerprint: 0xBEF0, client: client, sessionName: "cut")
        }
    }
}
