import Foundation
import KVClient
import LanguageModelTesting
import RedisCluster
import RedisTestSupport
import Testing

/// Two `kvd serve --remote …` processes with separate data directories over one real Redis
/// Cluster, and `actqkv run` workers on each (docs/TIER.md).
@Suite(.serialized)
struct SharedTierTests {
    /// Waits (≤ 120 s) until the node has uploaded everything and published `sessions` sessions.
    private static func published(_ node: DaemonProcess, sessions: UInt64) async throws {
        let client = try await KVClient.connect(socketPath: node.socketPath)
        defer { client.close() }
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let counters = Dictionary(uniqueKeysWithValues: try await client.stats().counters.map { ($0.name, $0.value) })
            if counters["tier.queuedBlocks"] == 0, counters["tier.publications"] ?? 0 >= sessions { return }
            try #require(ContinuousClock.now < deadline, "node did not publish: \(counters.filter { $0.key.hasPrefix("tier.") })")
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("a worker on node B answers over node A's document computing only the suffix, after A is stopped and its data deleted; a worker of another model is refused the session")
    func nodeBReusesNodeAsDocument() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let remote = ["--remote", "redis://" + cluster.seeds.map(\.description).joined(separator: ",")]
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 31_887, sentences: 90, depth: 0.4).write(to: doc, atomically: true, encoding: .utf8)
        let common = ["--input", doc.path, "--chat", "--max-tokens", "10", "--json"] + WorkerProcess.smallConfig

        let a = try DaemonProcess()
        defer { a.cleanUp() }
        try a.start(arguments: remote)
        let first = try WorkerProcess.run(common + ["--socket", a.socketPath, "--session", "doc", "--question", "What is the pass key?"], directory: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.int("reusedTokens") == 0)
        try await Self.published(a, sessions: 1)
        #expect(try a.stop() == 0)
        try FileManager.default.removeItem(atPath: a.dataPath)

        let b = try DaemonProcess()
        defer { b.cleanUp() }
        try b.start(arguments: remote)
        let q2 = ["--question", "Repeat the pass key, digits only."]
        let second = try WorkerProcess.run(common + ["--socket", b.socketPath, "--session", "doc"] + q2, directory: dir)
        #expect(second.status == 0, "\(second.stderr)")
        let shared = second.int("reusedTokens")
        #expect(shared > second.int("promptTokens") - 200, "nearly the whole document is reused (\(shared) of \(second.int("promptTokens")))")
        #expect((0...1).contains(second.int("computedTokens") - (second.int("promptTokens") - shared) - (second.generated.count - 1)))
        // The same answer as computing everything on B.
        let separate = try WorkerProcess.run(common + ["--socket", b.socketPath, "--session", "separate"] + q2, directory: dir)
        #expect(separate.status == 0, "\(separate.stderr)")
        #expect(separate.int("reusedTokens") == 0)
        #expect(second.generated == separate.generated, "pulled \(second.generated) vs computed \(separate.generated)")

        let client = try await KVClient.connect(socketPath: b.socketPath)
        let counters = Dictionary(uniqueKeysWithValues: try await client.stats().counters.map { ($0.name, $0.value) })
        #expect(counters["tier.pulledSessions"] == 1 && counters["tier.downloadedBlocks"] ?? 0 > 0, "\(counters)")
        client.close()

        // Another model (Gemma 3, a base model: no chat template) over the same session name:
        // refused, never served.
        let other = try WorkerProcess.run(common.filter { $0 != "--chat" } + ["--socket", b.socketPath, "--session", "doc"] + q2,
                                          directory: dir, model: ModelTestSupport.gemmaModelPath)
        #expect(other.status != 0)
        #expect(other.stderr.contains("another model"), "\(other.stderr)")
        #expect(try b.stop() == 0)
    }
}
