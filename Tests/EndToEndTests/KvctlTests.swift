import Foundation
import Protocol
import Testing

/// The kvctl binary against a real kvd.
extension EndToEnd {
@Suite struct KvctlTests {
    static func json(_ output: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    @Test func statsSessionsBlocksDropAndVerify() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        try client.createSession("alpha", ModelShapes.tiny)
        try client.createSession("beta", ModelShapes.tiny)
        try client.append("alpha", (0..<3).map { ModelShapes.block(ModelShapes.tiny, layer: 1, position: $0, seed: 4) })
        client.close()

        let stats = try Kvctl.run(["--socket", daemon.socketPath, "stats", "--json"])
        #expect(stats.status == 0, "\(stats.output)")
        let statsJSON = try #require(try Self.json(stats.output) as? [String: Any])
        #expect(statsJSON["sessions"] as? Int == 2)
        #expect(statsJSON["blocks"] as? Int == 3)
        let counters = try #require(statsJSON["counters"] as? [String: Any])
        #expect(counters["blocks.appended"] as? Int == 3)
        #expect((statsJSON["histograms"] as? [String: Any])?["latency.appendBlocks"] != nil)

        let sessions = try Kvctl.run(["sessions", "--json", "--socket", daemon.socketPath])
        let list = try #require(try Self.json(sessions.output) as? [[String: Any]])
        #expect(list.compactMap { $0["name"] as? String } == ["alpha", "beta"])
        #expect(list.first?["blocks"] as? Int == 3)

        let blocks = try Kvctl.run(["--socket", daemon.socketPath, "blocks", "alpha"])
        #expect(blocks.output.contains("layer 1\t3 blocks"), "\(blocks.output)")

        #expect(try Kvctl.run(["--socket", daemon.socketPath, "drop", "beta"]).status == 0)
        let missing = try Kvctl.run(["--socket", daemon.socketPath, "drop", "beta"])
        #expect(missing.status == 1 && missing.output.contains("sessionNotFound"), "\(missing.output)")

        // Live: the daemon verifies its store (root is an administrator by default).
        let live = try Kvctl.run(["--socket", daemon.socketPath, "verify", "--json"])
        #expect(live.status == 0, "\(live.output)")
        let liveReport = try #require(try Self.json(live.output) as? [String: Any])
        #expect(liveReport["ok"] as? Bool == true)
        #expect(liveReport["blocksChecked"] as? Int == 3)
        #expect(liveReport["referencesChecked"] as? Int == 3)
        // Offline mode refuses while the daemon serves the directory.
        let busy = try Kvctl.run(["verify", "--data", daemon.dataPath])
        #expect(busy.status == 1 && busy.output.contains("is serving"), "\(busy.output)")
        try daemon.stop()
        let verify = try Kvctl.run(["verify", "--data", daemon.dataPath, "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        let report = try #require(try Self.json(verify.output) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        #expect(report["blocksChecked"] as? Int == 3)
    }

    @Test func benchRunsAndReportsEveryFigure() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let bench = try Kvctl.run([
            "--socket", daemon.socketPath, "bench", "--json", "--runs", "1", "--shapes", "smollm2", "--smol-sizes", "64,128",
            "--retrieves", "10", "--parallel-blocks", "32", "--raw-bytes", "\(4 << 20)", "--scratch", daemon.root.path,
        ])
        #expect(bench.status == 0, "\(bench.output)")
        let report = try #require(try Self.json(bench.output) as? [String: Any])
        let shape = try #require((report["shapes"] as? [[String: Any]])?.first)
        for key in ["appendMBps", "pipelinedAppendMBps", "parallelAppendMBps", "rawLMDBPutMBps", "rawLMDBGetMBps", "compressionRatio", "tinyRoundTripP50Us"] {
            let value = try #require(shape[key] as? Double, "\(key) missing")
            #expect(value > 0 && value.isFinite, "\(key) = \(value)")
        }
        // K/V that looks like a model's compresses a little, far from zeros' ratio.
        let ratio = try #require(shape["compressionRatio"] as? Double)
        #expect(ratio > 1.02 && ratio < 3, "compression ratio \(ratio)")
        let points = try #require(shape["retrieve"] as? [[String: Any]])
        #expect(points.compactMap { $0["blocks"] as? Int } == [64, 128])
        // The bench drops its sessions.
        let sessions = try Kvctl.run(["--socket", daemon.socketPath, "sessions", "--json"])
        #expect((try Self.json(sessions.output) as? [Any])?.isEmpty == true, "\(sessions.output)")
    }
}
}
