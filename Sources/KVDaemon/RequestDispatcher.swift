import Logging
import NIOCore

/// What the connection loop does after a request: frames to write, then maybe close.
struct Reply: Sendable {
    var frames: [ByteBuffer]
    var closeConnection: Bool
}

/// Decodes each request frame, checks it against the peer's rights and answers it.
/// (Message dispatch arrives with the Protocol module; until then every frame closes the
/// connection.)
public final class RequestDispatcher: Sendable {
    /// Creates a dispatcher.
    public init() {}

    func handle(_ frame: InboundFrame, connection: ConnectionState, logger: Logger) async -> Reply {
        Reply(frames: [], closeConnection: true)
    }

    func replyToSplitError(_ error: FrameSplitError) -> ByteBuffer? { nil }

    func connectionClosed(_ connection: ConnectionState, logger: Logger) async {}

    func close() async {}
}
