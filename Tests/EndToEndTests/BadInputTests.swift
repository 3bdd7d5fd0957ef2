import CoreTypes
import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hostile and broken clients get a typed error or a closed connection; the daemon keeps
/// serving everyone else and its memory does not grow.
extension EndToEnd {
@Suite struct BadInputTests {
    static func frame(type: UInt16, requestID: UInt64 = 1, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        FrameHeader(length: UInt32(12 + body.count), rawType: type, requestID: requestID).encode(into: &out)
        return out + body
    }

    /// Reads frames until the daemon closes the connection; returns the error codes received.
    static func errorsUntilClose(_ connection: RawConnection) throws -> [ErrorCode] {
        var codes: [ErrorCode] = []
        while let frame = try connection.receiveFrame() {
            if case .error(let e) = try Message.decode(Frame(rawType: frame.type, requestID: frame.requestID, body: frame.body[...])) {
                codes.append(e.code)
            }
        }
        return codes
    }

    @Test func fourGiBLengthPrefixIsAnsweredWithFrameTooLargeAndClosed() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let connection = try RawConnection(path: daemon.socketPath)
        try connection.send([0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00])
        #expect(try Self.errorsUntilClose(connection) == [.frameTooLarge])
    }

    @Test func lengthBelowHeaderIsMalformedAndClosed() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let connection = try RawConnection(path: daemon.socketPath)
        try connection.send([3, 0, 0, 0, 1, 2, 3])
        #expect(try Self.errorsUntilClose(connection) == [.malformedFrame])
    }

    @Test func wrongVersionIsRefusedAndClosed() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath, handshake: false)
        let reply = try client.request(.hello(Hello(version: 99)))
        guard case .error(let error) = reply else {
            Issue.record("expected an error, got \(reply)")
            return
        }
        #expect(error.code == .unsupportedVersion)
        #expect(try client.connection.drainUntilClosed() == 0)
    }

    @Test func badMagicAndRequestBeforeHelloAreRefused() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let magic = try RawConnection(path: daemon.socketPath)
        try magic.send(Self.frame(type: MessageType.hello.rawValue, body: Array("HTTP".utf8) + [1, 0, 0, 0, 0, 4]))
        #expect(try Self.errorsUntilClose(magic) == [.badMagic])
        let early = try TestClient(socketPath: daemon.socketPath, handshake: false)
        guard case .error(let error) = try early.request(.statsRequest) else {
            Issue.record("stats before hello was answered")
            return
        }
        #expect(error.code == .handshakeRequired)
    }

    @Test func unknownSessionWrongDimensionsAndUnknownTypeKeepTheConnectionUsable() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.tiny
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        #expect(try expectError(.sessionNotFound) { try client.call(.openSession(SessionRequest(name: "nope"))) })
        try client.createSession("s", shape)
        var block = ModelShapes.block(shape, layer: 0, position: 0, seed: 1)
        block.representativeKey.removeLast()
        #expect(try expectError(.wrongDimensions) { try client.call(.appendBlocks(AppendBlocks(session: "s", blocks: [block]))) })
        var short = ModelShapes.block(shape, layer: 0, position: 0, seed: 1)
        short.payload = short.payload.dropLast(4)
        #expect(try expectError(.wrongDimensions) { try client.call(.appendBlocks(AppendBlocks(session: "s", blocks: [short]))) })
        #expect(try expectError(.wrongDimensions) {
            try client.call(.retrieve(RetrieveRequest(session: "s", layer: 0, method: .infllm, mode: .decode, chunkSequence: 0, probe: [1, 2, 3])))
        })
        #expect(try expectError(.badPosition) {
            try client.call(.appendBlocks(AppendBlocks(session: "s", blocks: [ModelShapes.block(shape, layer: 0, position: 5, seed: 1)])))
        })
        #expect(try expectError(.badPosition) {
            try client.call(.appendBlocks(AppendBlocks(session: "s", blocks: [ModelShapes.block(shape, layer: 9, position: 0, seed: 1)])))
        })
        try client.connection.send(Self.frame(type: 0x0777, requestID: 99, body: [1, 2, 3]))
        guard case .error(let unknown) = try client.receiveReply(id: 99) else {
            Issue.record("unknown type not answered")
            return
        }
        #expect(unknown.code == .unknownMessageType)
        // Still usable: a valid append at position 0 works and nothing of the rejected ones was stored.
        try client.append("s", [ModelShapes.block(shape, layer: 0, position: 0, seed: 1)])
        #expect(try client.openSession("s").blockCounts == [1, 0])
    }

    /// One round of every kind of bad connection.
    static func abuse(_ socketPath: String, round: Int) throws {
        var generator = SplitMix64(seed: UInt64(round) + 1)
        // Random bytes.
        let random = try RawConnection(path: socketPath, receiveTimeout: 15)
        try? random.send((0..<997).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        random.shutdownWrite()
        _ = try? random.drainUntilClosed()
        random.close()
        // A truncated frame (length says 4000, 100 bytes follow), then the client vanishes.
        let truncated = try RawConnection(path: socketPath)
        try truncated.send([0xA0, 0x0F, 0, 0] + [UInt8](repeating: 0x5A, count: 100))
        truncated.close()
        // A length prefix of 4 GiB − 1.
        let huge = try RawConnection(path: socketPath, receiveTimeout: 15)
        try huge.send([0xFF, 0xFF, 0xFF, 0xFF])
        _ = try? huge.drainUntilClosed()
        huge.close()
        // A valid handshake, then half of a large (1 MiB) append frame, then gone.
        let vanishing = try TestClient(socketPath: socketPath)
        let append = try Message.appendBlocks(AppendBlocks(session: "s", blocks: (0..<64).map {
            ModelShapes.block(ModelShapes.smolLM2, layer: 0, position: $0, seed: 3)
        })).encodeFrame(requestID: 5)
        try vanishing.connection.send(Array(append[..<(append.count / 2)]))
        vanishing.close()
        // Wrong version.
        let version = try TestClient(socketPath: socketPath, handshake: false)
        _ = try? version.request(.hello(Hello(version: 7)))
        version.close()
    }

    @Test func manyBadConnectionsNeitherStopServiceNorGrowMemory() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let good = try TestClient(socketPath: daemon.socketPath)
        defer { good.close() }
        try good.createSession("s", ModelShapes.tiny)
        // Warm-up: let allocators and NIO pools reach their steady size.
        for round in 0..<40 { try Self.abuse(daemon.socketPath, round: round) }
        let before = try daemon.residentKiB()
        for round in 40..<440 {
            try Self.abuse(daemon.socketPath, round: round)
            if round % 50 == 0 {
                // An established client is served throughout.
                try good.append("s", [ModelShapes.block(ModelShapes.tiny, layer: 1, position: (round - 40) / 50, seed: 9)])
            }
        }
        // Measure once the daemon has finished with every bad connection: only `good` is open
        // (polled through its own stats, bounded).
        func openConnections() throws -> UInt32 {
            guard case .stats(let stats) = try good.call(.statsRequest) else { throw HarnessError("stats: unexpected reply") }
            return stats.connections
        }
        let settled = Date().addingTimeInterval(20)
        var open = try openConnections()
        while open != 1 && Date() < settled {
            usleep(20_000)
            open = try openConnections()
        }
        #expect(open == 1, "connections still open after the bad clients left: \(open)")
        let after = try daemon.residentKiB()
        #expect(after - before < 16 * 1024, "RSS grew from \(before) KiB to \(after) KiB over 400 rounds of bad connections")
        #expect(try good.openSession("s").blockCounts == [0, 8])
        let fresh = try TestClient(socketPath: daemon.socketPath)
        defer { fresh.close() }
        guard case .stats(let stats) = try fresh.call(.statsRequest) else {
            Issue.record("no stats")
            return
        }
        #expect(stats.errors >= 400 * 2, "bad connections were answered with errors")
        #expect(daemon.process?.isRunning == true)
    }
}
}
