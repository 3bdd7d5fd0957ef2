import Testing
@testable import Protocol

/// The operations messages `reload`, `backup`, `inspectSession` and their replies
/// (docs/PROTOCOL.md §6.8–§6.10): documented bytes and rejected malformed bodies.
@Suite("Operations messages")
struct OperationsMessageTests {
    func decodeError(_ type: MessageType, _ body: [UInt8]) -> ErrorCode? {
        do {
            _ = try Message.decode(Frame(rawType: type.rawValue, flags: 0, requestID: 1, body: body[...]))
            return nil
        } catch {
            return error.code
        }
    }

    @Test("reload frames have the documented bytes")
    func reloadGoldenBytes() throws {
        let set = try Message.reload(ReloadRequest(logLevel: .debug)).encodeFrame(requestID: 7)
        #expect(set == [14, 0, 0, 0, 0x50, 0x00, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 1])
        let reread = try Message.reload(ReloadRequest()).encodeFrame(requestID: 7)
        #expect(Array(reread[16...]) == [0, 0])
        let reply = try Message.reloaded(ReloadReply(previous: .info, current: .warning)).encodeFrame(requestID: 7)
        #expect(Array(reply[4..<6]) == [0x50, 0x80])
        #expect(Array(reply[16...]) == [2, 4])
    }

    @Test("a log level outside 0…6, unknown option bits or trailing bytes are rejected")
    func badReload() {
        #expect(decodeError(.reload, [1, 7]) == .badArgument)
        #expect(decodeError(.reload, [2, 0]) == .badArgument)
        #expect(decodeError(.reload, [1]) == .malformedFrame)
        #expect(decodeError(.reload, [1, 1, 0]) == .malformedFrame)
        #expect(decodeError(.reloaded, [2, 9]) == .badArgument)
    }

    @Test("backup carries a u16-prefixed absolute path")
    func backupGoldenBytes() throws {
        let bytes = try Message.backup(BackupRequest(path: "/b")).encodeFrame(requestID: 1)
        #expect(Array(bytes[4..<6]) == [0x51, 0x00])
        #expect(Array(bytes[16...]) == [2, 0, 0x2F, 0x62])
        let reply = try Message.backupDone(BackupReply(bytes: 4096, elapsedMillis: 3, sessions: 2, blocks: 9)).encodeFrame(requestID: 1)
        #expect(Array(reply[16...]) == [0, 0x10, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0] + [9, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("a relative, empty, NUL-bearing or over-long backup path is badArgument")
    func badBackupPath() {
        #expect(throws: ProtocolError.self) { try Message.backup(BackupRequest(path: "relative")).encodeFrame(requestID: 1) }
        #expect(decodeError(.backup, [0, 0]) == .badArgument)
        #expect(decodeError(.backup, [3, 0, 0x61, 0x62, 0x63]) == .badArgument)  // "abc"
        #expect(decodeError(.backup, [2, 0, 0x2F, 0x00]) == .badArgument)  // "/\0"
        #expect(decodeError(.backup, [0x01, 0x10] + [UInt8](repeating: 0x2F, count: 4097)) == .badArgument)
        #expect(decodeError(.backup, [5, 0, 0x2F]) == .malformedFrame)  // truncated
    }

    @Test("sessionDetail lists one stored-bytes entry per layer")
    func sessionDetailLayers() throws {
        var gen = RandomMessages(seed: 3)
        let detail = gen.sessionDetail()
        let (_, decoded) = try roundTrip(.sessionDetail(detail), requestID: 2)
        #expect(decoded == .sessionDetail(detail))
        var wrong = detail
        wrong.layerStoredBytes.removeLast()
        #expect(throws: ProtocolError.self) { try Message.sessionDetail(wrong).encodeFrame(requestID: 2) }
        // A body cut inside the per-layer sizes is malformed.
        let bytes = try Message.sessionDetail(detail).encodeFrame(requestID: 2)
        #expect(decodeError(.sessionDetail, Array(bytes[16..<(bytes.count - 4)])) == .malformedFrame)
    }

    @Test("log level names round-trip")
    func levelNames() {
        for level in WireLogLevel.allCases { #expect(WireLogLevel(name: level.name) == level) }
        #expect(WireLogLevel(name: "loud") == nil)
    }
}
