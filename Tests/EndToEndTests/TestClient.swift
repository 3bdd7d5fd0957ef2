import Protocol

/// A minimal blocking client for end-to-end tests: Protocol's codec over a `RawConnection`, one
/// request at a time. (The KVClient library is tested by its own target; this client lets the
/// tests also send what no well-behaved client would.)
final class TestClient: @unchecked Sendable {  // used by one thread at a time
    let connection: RawConnection
    private var nextID: UInt64 = 1
    /// The server's handshake answer.
    private(set) var helloOK: HelloOK?

    init(socketPath: String, handshake: Bool = true) throws {
        connection = try RawConnection(path: socketPath)
        if handshake {
            guard case .helloOK(let ok) = try request(.hello(Hello())) else {
                throw HarnessError("handshake refused")
            }
            helloOK = ok
        }
    }

    /// Sends `message` and returns the decoded reply (an `.error` reply is returned, not thrown).
    func request(_ message: Message) throws -> Message {
        let id = nextID
        nextID += 1
        try connection.send(try message.encodeFrame(requestID: id))
        return try receiveReply(id: id)
    }

    /// Reads one reply frame and checks its request id.
    func receiveReply(id: UInt64) throws -> Message {
        guard let frame = try connection.receiveFrame() else { throw HarnessError("connection closed by the daemon") }
        guard frame.requestID == id || frame.requestID == 0 else {
            throw HarnessError("reply id \(frame.requestID) for request \(id)")
        }
        return try Message.decode(Frame(rawType: frame.type, flags: frame.flags, requestID: frame.requestID, body: frame.body[...]))
    }

    /// Sends `message` and returns the reply, throwing the error of an `.error` reply.
    func call(_ message: Message) throws -> Message {
        let reply = try request(message)
        if case .error(let error) = reply { throw error }
        return reply
    }

    func close() { connection.close() }
}
