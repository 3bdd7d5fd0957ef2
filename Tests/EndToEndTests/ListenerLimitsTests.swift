import Dispatch
import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What one client can make kvd hold: replies it does not read, connections, silent or idle
/// connections, frames before the handshake (docs/OPERATIONS.md "Limits").
extension EndToEnd {
@Suite struct ListenerLimitsTests {
    /// Decodes the next frame of `connection` as an error; nil when the daemon closed first.
    static func nextError(_ connection: RawConnection) throws -> (code: ErrorCode, requestID: UInt64)? {
        guard let frame = try connection.receiveFrame() else { return nil }
        guard case .error(let error) = try Message.decode(Frame(rawType: frame.type, flags: frame.flags, requestID: frame.requestID, body: frame.body[...])) else {
            throw HarnessError("expected an error frame, got type \(frame.type)")
        }
        return (error.code, frame.requestID)
    }

    /// True when the daemon closed `connection` (end of stream or reset), false when it sent
    /// something; throws on the receive timeout (it kept the connection open).
    static func isClosed(_ connection: RawConnection) throws -> Bool {
        var byte: UInt8 = 0
        let n = recv(connection.fd, &byte, 1, 0)
        if n == 0 || (n < 0 && errno == ECONNRESET) { return true }
        if n > 0 { return false }
        throw HarnessError("connection still open (recv errno \(errno))")
    }

    static func hello(_ connection: RawConnection, id: UInt64 = 1) throws {
        try connection.send(try Message.hello(Hello()).encodeFrame(requestID: id))
        guard let reply = try connection.receiveFrame(), reply.type == MessageType.helloOK.rawValue else {
            throw HarnessError("handshake refused")
        }
    }

    /// A connection that completed the handshake. Retried (bounded): kvd forgets a closed
    /// connection — such as `DaemonProcess.start`'s probe — only shortly after it closed.
    static func admitted(_ daemon: DaemonProcess) throws -> TestClient {
        for _ in 0..<250 {
            if let client = try? TestClient(socketPath: daemon.socketPath) { return client }
            usleep(20_000)
        }
        throw HarnessError("no connection admitted")
    }

    @Test func theLimitsAreLayeredLikeEveryOtherOption() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        let config = daemon.root.appendingPathComponent("kvd.conf").path
        try "handshake-timeout-seconds = 3\nmax-connections-per-uid = 8\n".write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "KVD_MAX_CONNECTIONS=100", DaemonProcess.kvdPath, "config", "print", "--socket", daemon.socketPath,
            "--data", daemon.dataPath, "--config", config, "--max-connections-per-uid", "9",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        let lines = output.split(separator: "\n").map(String.init)
        func line(_ key: String) -> String { lines.first { $0.hasPrefix(key + " = ") } ?? "" }
        #expect(line("max-connections").contains("= 100") && line("max-connections").contains("# environment KVD_MAX_CONNECTIONS"), "\(output)")
        #expect(line("max-connections-per-uid").contains("= 9") && line("max-connections-per-uid").contains("# flag"), "\(output)")
        #expect(line("handshake-timeout-seconds").contains("= 3") && line("handshake-timeout-seconds").contains("# config file"), "\(output)")
        #expect(line("idle-timeout-seconds").contains("= 0") && line("idle-timeout-seconds").contains("# default"), "\(output)")
    }

    // MARK: - Back-pressure

    @Test func pipelinedStatsWhoseRepliesAreNotReadDoNotGrowMemory() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let connection = try RawConnection(path: daemon.socketPath)
        try Self.hello(connection)
        let before = try daemon.residentKiB()

        let count = 150_000
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 16)
        for id in 0..<count { bytes += try Message.statsRequest.encodeFrame(requestID: UInt64(id + 2)) }

        // Send without reading until kvd stops taking bytes (no progress for 2 s), or all sent.
        let flags = fcntl(connection.fd, F_GETFL)
        _ = fcntl(connection.fd, F_SETFL, flags | O_NONBLOCK)
        var offset = 0
        sending: while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
                continue
            }
            guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw HarnessError("send: errno \(errno)")
            }
            var descriptor = pollfd(fd: connection.fd, events: Int16(POLLOUT), revents: 0)
            if poll(&descriptor, 1, 2000) == 0 { break sending }
        }
        if offset == bytes.count {
            // kvd read everything: let it answer everything before measuring (its own counter).
            let probe = try TestClient(socketPath: daemon.socketPath)
            defer { probe.close() }
            for _ in 0..<600 {
                guard case .stats(let stats) = try probe.call(.statsRequest) else { throw HarnessError("no stats") }
                if stats.requests >= UInt64(count) { break }
                usleep(100_000)
            }
        }
        let grownMiB = (try daemon.residentKiB() - before) / 1024
        #expect(grownMiB < 64, "kvd grew by \(grownMiB) MiB holding replies of \(count) unread stats requests (\(offset) of \(bytes.count) bytes taken)")

        // The client reads now: the rest is sent meanwhile, and every reply arrives, in order.
        _ = fcntl(connection.fd, F_SETFL, flags)
        let sent = DispatchSemaphore(value: 0)
        let remaining = Array(bytes[offset...])
        let sender = Locked<(any Error)?>(nil)
        let fd = connection.fd
        DispatchQueue.global().async {
            var offset = 0
            while offset < remaining.count {
                let n = remaining[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else {
                    sender.withLock { $0 = HarnessError("send: errno \(errno)") }
                    break
                }
                offset += n
            }
            sent.signal()
        }
        for id in 0..<count {
            guard let frame = try connection.receiveFrame() else {
                Issue.record("connection closed after \(id) replies")
                break
            }
            if frame.requestID != UInt64(id + 2) || frame.type != MessageType.statsReply.rawValue {
                Issue.record("reply \(id): id \(frame.requestID), type \(frame.type)")
                break
            }
        }
        #expect(sent.wait(timeout: .now() + 60) == .success)
        #expect(sender.withLock { $0 } == nil)
    }

    // MARK: - Connection limits (item 8)

    @Test func aConnectionOverTheGlobalLimitGetsTooManyConnections() throws {
        let daemon = try DaemonProcess(extraArguments: ["--max-connections", "2"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let first = try Self.admitted(daemon)
        let second = try Self.admitted(daemon)
        defer { second.close() }
        let third = try RawConnection(path: daemon.socketPath)
        let refusal = try Self.nextError(third)
        #expect(refusal?.code == .tooManyConnections && refusal?.requestID == 0, "\(String(describing: refusal))")
        #expect(try Self.isClosed(third))
        // Once one closes, a new connection is admitted.
        first.close()
        let next = try Self.admitted(daemon)
        defer { next.close() }
        guard case .stats(let stats) = try next.call(.statsRequest) else { throw HarnessError("no stats") }
        #expect((stats.counters.first { $0.name == "connections.rejected" }?.value ?? 0) >= 1, "\(stats.counters)")
    }

    @Test func aUIDOverItsLimitGetsTooManyConnectionsWhileOthersConnect() throws {
        try #require(getuid() == 0, "starts a client as another uid and must run as root")
        let daemon = try DaemonProcess(extraArguments: ["--max-connections-per-uid", "2", "--socket-group", "65534"])
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        let first = try Self.admitted(daemon)
        defer { first.close() }
        let second = try Self.admitted(daemon)
        defer { second.close() }
        let third = try RawConnection(path: daemon.socketPath)
        #expect(try Self.nextError(third)?.code == .tooManyConnections)
        let rootStats = try Kvctl.run(["--socket", daemon.socketPath, "stats"])
        #expect(rootStats.status == 1 && rootStats.output.contains("tooManyConnections"), "\(rootStats.output)")
        let nobodyStats = try Kvctl.run(["--socket", daemon.socketPath, "stats"], prefix: UIDIsolationTests.nobody)
        #expect(nobodyStats.status == 0, "another uid is under its own limit: \(nobodyStats.output)")
    }

    @Test func aSilentConnectionIsClosedAfterTheHandshakeTimeout() throws {
        let daemon = try DaemonProcess(extraArguments: ["--handshake-timeout-seconds", "1"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let silent = try RawConnection(path: daemon.socketPath)
        let notice = try Self.nextError(silent)
        #expect(notice?.code == .connectionTimedOut && notice?.requestID == 0, "\(String(describing: notice))")
        #expect(try Self.isClosed(silent))
        // A connection that completed the handshake is not affected by it.
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let late = try RawConnection(path: daemon.socketPath)
        #expect(try Self.nextError(late)?.code == .connectionTimedOut)
        guard case .stats = try client.call(.statsRequest) else { throw HarnessError("no stats") }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() throws {
        let daemon = try DaemonProcess(extraArguments: ["--idle-timeout-seconds", "1"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        try client.createSession("idle", ModelShapes.tiny)
        let notice = try Self.nextError(client.connection)
        #expect(notice?.code == .connectionTimedOut && notice?.requestID == 0, "\(String(describing: notice))")
        #expect(try Self.isClosed(client.connection))
        // The session it held open was released: another connection may drop it.
        let other = try TestClient(socketPath: daemon.socketPath)
        defer { other.close() }
        var dropped = false
        for _ in 0..<200 where !dropped {
            if case .ok = try other.request(.dropSession(SessionRequest(name: "idle"))) { dropped = true } else { usleep(20_000) }
        }
        #expect(dropped)
    }

    @Test func aOneMiBFrameBeforeHelloIsRefusedButAcceptedAfterIt() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let unknownType: UInt16 = 0x7A7A
        let big = BadInputTests.frame(type: unknownType, requestID: 5, body: [UInt8](repeating: 7, count: 1 << 20))
        let early = try RawConnection(path: daemon.socketPath)
        try? early.send(big)
        let refusal = try Self.nextError(early)
        #expect(refusal?.code == .frameTooLarge, "\(String(describing: refusal))")
        #expect(try Self.isClosed(early))

        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        try client.connection.send(big)
        guard case .error(let error) = try client.receiveReply(id: 5) else { throw HarnessError("expected an error reply") }
        #expect(error.code == .unknownMessageType, "a 1 MiB frame after hello is read whole: \(error)")
        guard case .stats = try client.call(.statsRequest) else { throw HarnessError("no stats") }

        // Pipelined right behind the hello, in the same write, it is checked after the hello.
        let pipelined = try RawConnection(path: daemon.socketPath)
        try pipelined.send(try Message.hello(Hello()).encodeFrame(requestID: 1) + big)
        #expect(try pipelined.receiveFrame()?.type == MessageType.helloOK.rawValue)
        #expect(try Self.nextError(pipelined)?.code == .unknownMessageType)
    }

    @Test func aLowDescriptorLimitLowersTheConnectionLimitWithAWarning() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        let log = FileHandle(forWritingAtPath: daemon.logPath)!
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=96:96", DaemonProcess.kvdPath, "serve", "--socket", daemon.socketPath, "--data", daemon.dataPath]
        process.standardError = log
        process.standardOutput = log
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var probe: TestClient?
        for _ in 0..<1000 where probe == nil {
            probe = try? TestClient(socketPath: daemon.socketPath)
            if probe == nil { usleep(20_000) }
        }
        try #require(probe != nil, "kvd did not start: \(daemon.log_())")
        probe?.close()
        #expect(daemon.log_().contains("the descriptor limit cannot hold --max-connections"), "\(daemon.log_())")
        // 96 − 64 reserved = 32 connections; the 33rd is refused.
        var clients: [TestClient] = []
        for _ in 0..<32 { clients.append(try Self.admitted(daemon)) }
        let over = try RawConnection(path: daemon.socketPath)
        #expect(try Self.nextError(over)?.code == .tooManyConnections)
        for client in clients { client.close() }
    }

    @Test func connectionsWithoutHelloHoldLittleMemory() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let before = try daemon.residentKiB()
        // Each announces a 48 MiB frame and sends 32 MiB of it, never a hello.
        var header: [UInt8] = []
        FrameHeader(length: 48 << 20, rawType: MessageType.hello.rawValue, requestID: 1).encode(into: &header)
        let chunk = [UInt8](repeating: 1, count: 1 << 20)
        var connections: [RawConnection] = []
        for _ in 0..<4 {
            let connection = try RawConnection(path: daemon.socketPath, receiveTimeout: 30)
            connections.append(connection)
            do {
                try connection.send(header)
                for _ in 0..<32 { try connection.send(chunk) }
            } catch {
                // kvd refused the frame and closed the connection.
            }
        }
        let grownMiB = (try daemon.residentKiB() - before) / 1024
        #expect(grownMiB < 16, "4 connections without hello grew kvd by \(grownMiB) MiB")
        for connection in connections {
            #expect(try Self.nextError(connection)?.code == .frameTooLarge)
        }
    }
}
}
