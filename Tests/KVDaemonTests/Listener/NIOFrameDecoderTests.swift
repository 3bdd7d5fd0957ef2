import CoreTypes
import DaemonTestSupport
import Protocol
import Testing
@testable import KVDaemon

/// Framing as the daemon's NIO decoder applies it, over a real socket.
@Suite(.serialized)
struct NIOFrameDecoderTests {
    @Test func frameDeliveredOneByteAtATimeIsDecoded() async throws {
        let daemon = try await InProcessDaemon()
        let socket = try RawSocket(path: daemon.socketPath)
        for byte in try Message.hello(Hello()).encodeFrame(requestID: 7) { socket.send([byte]) }
        guard case .helloOK(let ok) = try await socket.receive() else {
            Issue.record("no helloOK")
            return
        }
        #expect(ok.version == 1)
        try await daemon.stop()
    }

    @Test func pipelinedFramesInOneWriteAreAnsweredInOrder() async throws {
        let daemon = try await InProcessDaemon()
        let socket = try RawSocket(path: daemon.socketPath)
        var bytes = try Message.hello(Hello()).encodeFrame(requestID: 1)
        bytes += try Message.createSession(CreateSession(name: "p", descriptor: Shapes.tiny)).encodeFrame(requestID: 2)
        bytes += try Message.openSession(SessionRequest(name: "missing")).encodeFrame(requestID: 3)
        bytes += try Message.statsRequest.encodeFrame(requestID: 4)
        socket.send(bytes)
        var replies: [Message] = []
        for _ in 0..<4 { if let reply = try await socket.receive() { replies.append(reply) } }
        #expect(replies.map(\.type) == [.helloOK, .sessionInfo, .error, .statsReply])
        if case .error(let error) = replies[2] { #expect(error.code == .sessionNotFound) }
        try await daemon.stop()
    }

    @Test func frameAboveTheConfiguredLimitIsRefusedBeforeItsBodyArrives() async throws {
        let daemon = try await InProcessDaemon { $0.maximumFrameBytes = 64 << 10 }
        let socket = try RawSocket(path: daemon.socketPath)
        socket.send(try Message.hello(Hello()).encodeFrame(requestID: 1))
        guard case .helloOK(let ok) = try await socket.receive() else {
            Issue.record("no helloOK")
            return
        }
        #expect(ok.maxFrameBytes == 64 << 10)
        // Only the header of a 64 KiB + 1 frame is sent: the answer must not wait for the body.
        var header: [UInt8] = []
        FrameHeader(length: (64 << 10) + 1, rawType: MessageType.appendBlocks.rawValue, requestID: 2).encode(into: &header)
        socket.send(header)
        guard case .error(let error) = try await socket.receive() else {
            Issue.record("no error reply")
            return
        }
        #expect(error.code == .frameTooLarge)
        #expect(try await socket.receive() == nil, "connection closed after a framing error")
        try await daemon.stop()
    }
}
