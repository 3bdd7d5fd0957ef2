import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` alone leaves the page cache, so it cannot tell `sync` from `none`. Here the real kvd
/// runs with the power-loss interposer (``PowerLoss``): after the kill, every write LMDB did not
/// make durable (fdatasync, its O_DSYNC meta-page descriptor) is dropped, then kvd restarts on
/// what is left. `sync` keeps every acknowledged block; `none` visibly loses the appends since its
/// last clean shutdown — which shows the test can tell the modes apart.
extension EndToEnd {
@Suite struct PowerLossTests {
    /// Blocks each writer appends before the clean shutdown of phase 1.
    static let phaseOneBlocks = 12

    @Test("power loss after kill -9: sync keeps every acknowledged block, none loses the appends since the last clean shutdown",
          arguments: ["sync", "none"])
    func powerLossKeepsWhatTheModePromises(mode: String) throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", mode])
        defer { daemon.cleanUp() }
        let powerLoss = try PowerLoss(for: daemon)
        let shape = ModelShapes.smolLM2
        let writers = 4
        let seed: UInt64 = 91

        // Phase 1: appends, then a clean shutdown (every mode flushes at close).
        try daemon.start(environment: powerLoss.environment)
        let setup = try TestClient(socketPath: daemon.socketPath)
        try setup.createSession("power", shape)
        for writer in 0..<writers {
            for position in stride(from: 0, to: Self.phaseOneBlocks, by: 4) {
                try setup.append("power", (position..<position + 4).map { ModelShapes.block(shape, layer: writer, position: $0, seed: seed) })
            }
        }
        setup.close()
        #expect(try daemon.stop(signal: SIGTERM) == 0, "log:\n\(daemon.log_())")

        // Phase 2: writers append (continuing each layer) until enough is acknowledged, then kill -9.
        try daemon.start(environment: powerLoss.environment)
        let streams = AppendStreams(
            socketPath: daemon.socketPath, session: "power", shape: shape, writers: writers, seed: seed,
            startPosition: Self.phaseOneBlocks, blocksPerAppend: { 1 + $0 % 2 })
        let deadline = Date().addingTimeInterval(120)
        while streams.acknowledged.reduce(0, +) < writers * Self.phaseOneBlocks + 160 && Date() < deadline { usleep(10_000) }
        try daemon.stop(signal: SIGKILL)
        streams.wait()
        let acknowledged = streams.acknowledged
        #expect(acknowledged.reduce(0, +) >= writers * Self.phaseOneBlocks + 160, "acknowledged before the kill: \(acknowledged)")

        // The power loss: the data files become their durable images.
        let changed = try powerLoss.loseUnflushedWrites()
        #expect(changed["data.mdb"] != nil, "the interposer kept an image of data.mdb: \(changed)")

        // kvd restarts (without the interposer) on what a machine would find after the power loss.
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let info = try client.openSession("power")
        var stored = [Int]()
        for writer in 0..<writers {
            let blocks = try client.allBlocks("power", layer: writer, dimension: shape.vectorDimension)
            stored.append(blocks.count)
            #expect(Int(info.blockCounts[writer]) == blocks.count)
            // Whatever is there is exactly what was appended at that position.
            for (position, block) in blocks.enumerated() {
                #expect(Int(block.position) == position)
                #expect(block.payload == Array(ModelShapes.block(shape, layer: writer, position: position, seed: seed).payload),
                        "layer \(writer) block \(position)")
            }
        }
        switch mode {
        case "sync":
            for writer in 0..<writers {
                #expect(stored[writer] >= acknowledged[writer], "sync lost acknowledged blocks of layer \(writer): \(stored[writer]) stored < \(acknowledged[writer]) acknowledged")
            }
        default:
            // Nothing after the clean shutdown was flushed: exactly phase 1 survives.
            #expect(stored == [Int](repeating: Self.phaseOneBlocks, count: writers),
                    "none after a power loss: \(stored) stored, \(acknowledged) acknowledged")
            #expect(stored.reduce(0, +) < acknowledged.reduce(0, +), "none lost acknowledged appends")
            #expect(changed["data.mdb"] == true, "the power loss dropped unflushed writes of data.mdb")
        }
        client.close()
        let verify = try Kvctl.run(["--socket", daemon.socketPath, "verify", "--json"])
        #expect(verify.status == 0, "kvctl verify after the power loss: \(verify.output)")
        #expect(try daemon.stop() == 0)
    }
}
}
