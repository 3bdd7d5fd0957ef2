import Foundation
import Protocol
import Testing

/// A client that sends its requests and then shuts down its writing side (`shutdown(SHUT_WR)`,
/// what `nc -N` or a batch tool does) still gets every reply, whole and in order, before kvd
/// closes the connection (docs/PROTOCOL.md §8: the server never writes a partial frame).
extension EndToEnd {
@Suite struct HalfCloseTests {
    @Test func everyReplyArrivesAfterTheClientShutsDownItsWritingSide() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let connection = try RawConnection(path: daemon.socketPath)
        defer { connection.close() }
        // 3 000 stats replies are far more than the socket buffers hold: most are still
        // unwritten when the end of the client's stream arrives.
        let count = 3000
        var requests = try Message.hello(Hello()).encodeFrame(requestID: 1)
        for id in 2...UInt64(count + 1) { requests += try Message.statsRequest.encodeFrame(requestID: id) }
        try connection.send(requests)
        connection.shutdownWrite()
        var ids: [UInt64] = []
        while let frame = try connection.receiveFrame() {
            ids.append(frame.requestID)
            #expect(frame.type != MessageType.error.rawValue, "request \(frame.requestID) failed")
        }
        #expect(ids == Array(1...UInt64(count + 1)), "\(ids.count) of \(count + 1) replies")
    }
}
}
