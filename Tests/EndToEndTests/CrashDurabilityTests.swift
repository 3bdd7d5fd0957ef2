import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` during a stream of appends in `sync` mode loses nothing that was acknowledged.
extension EndToEnd {
@Suite struct CrashDurabilityTests {
    @Test func killNineLosesNoAcknowledgedAppend() throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", "sync"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.smolLM2
        let setup = try TestClient(socketPath: daemon.socketPath)
        try setup.createSession("stream", shape)
        setup.close()

        // Writers append one or two blocks per request, each to its own layer, until the daemon dies.
        let writers = 4
        let streams = AppendStreams(
            socketPath: daemon.socketPath, session: "stream", shape: shape, writers: writers, seed: 77,
            blocksPerAppend: { 1 + $0 % 2 })
        // Kill the daemon without warning once every writer has had appends acknowledged (at
        // least 50 each: the streams are well under way); polled with a bounded deadline.
        let running = Date().addingTimeInterval(120)
        while !streams.acknowledged.allSatisfy({ $0 >= 50 }) && Date() < running { usleep(20_000) }
        try daemon.stop(signal: SIGKILL)
        streams.wait()
        let acknowledged = streams.acknowledged
        #expect(acknowledged.allSatisfy { $0 > 0 }, "every writer had appends acknowledged: \(acknowledged)")

        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let info = try client.openSession("stream")
        for writer in 0..<writers {
            let stored = try client.allBlocks("stream", layer: writer, dimension: shape.vectorDimension)
            #expect(Int(info.blockCounts[writer]) >= acknowledged[writer], "layer \(writer): \(info.blockCounts[writer]) stored < \(acknowledged[writer]) acknowledged")
            for position in 0..<min(acknowledged[writer], stored.count) {
                let expected = ModelShapes.block(shape, layer: writer, position: position, seed: 77)
                #expect(stored[position].payload == Array(expected.payload), "layer \(writer) block \(position)")
            }
        }
        client.close()
        // The restarted daemon verifies its own store: every block decodes and matches its checksum.
        let verify = try Kvctl.run(["--socket", daemon.socketPath, "verify", "--json"])
        #expect(verify.status == 0, "kvctl verify: \(verify.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(verify.output.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        #expect((report["blocksChecked"] as? Int ?? 0) >= acknowledged.reduce(0, +), "\(verify.output)")
        #expect(try daemon.stop() == 0)
    }
}
}

/// SIGTERM during a stream of appends: the daemon answers or refuses what is in flight, exits 0,
/// and everything acknowledged is there after a restart.
extension EndToEnd {
@Suite struct GracefulShutdownTests {
    @Test func sigtermDuringAppendsKeepsEveryAcknowledgedBlock() throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", "periodic", "--sync-interval-ms", "1000"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.smolLM2
        let client = try TestClient(socketPath: daemon.socketPath)
        try client.createSession("g", shape)
        let acknowledged = Locked(0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            var position = 0
            while true {
                let blocks = (position..<position + 4).map { ModelShapes.block(shape, layer: 3, position: $0, seed: 8) }
                guard (try? client.append("g", blocks)) != nil else { return }
                position += 4
                acknowledged.withLock { $0 = position }
            }
        }.start()
        let streaming = Date().addingTimeInterval(120)
        while acknowledged.current < 100 && Date() < streaming { usleep(5_000) }
        #expect(acknowledged.current >= 100, "the append stream stalled before the signal")
        // periodic mode: a clean shutdown still syncs what was acknowledged.
        #expect(try daemon.stop(signal: SIGTERM) == 0, "log:\n\(daemon.log_())")
        done.wait()
        client.close()
        try daemon.start()
        let check = try TestClient(socketPath: daemon.socketPath)
        defer { check.close() }
        let stored = try check.allBlocks("g", layer: 3, dimension: shape.vectorDimension)
        #expect(stored.count >= acknowledged.current)
        for position in 0..<min(acknowledged.current, stored.count) {
            #expect(stored[position].payload == Array(ModelShapes.block(shape, layer: 3, position: position, seed: 8).payload))
        }
    }
}
}
