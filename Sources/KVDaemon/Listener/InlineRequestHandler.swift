import Logging
import NIOCore

/// Answers cheap requests (``RequestDispatcher/inlineTypes``: handshake, open of a session,
/// stats, a retrieve without payloads over a small layer) on the event loop, sparing the hop to the connection's request loop and back —
/// two thread wake-ups, most of a tiny request's round trip. It answers only while no request
/// it passed on awaits its reply, so replies keep the order of requests; every other frame goes
/// on to the request loop unchanged, and a request it decoded and declined goes on with its
/// decoded message (``InboundFrame/decoded``).
///
/// Back-pressure: it answers only while the channel is writable (the replies not yet taken by
/// the client stay under the write-buffer high water mark). Once they reach it, frames go on to
/// the request loop like any other, whose writer waits for writability and whose reader takes
/// up a request only after the previous reply was written; its inbound buffer then fills and
/// the socket is no longer read. So a client that sends cheap requests and reads no replies
/// holds at most one read burst of requests and about the high water mark of replies, however
/// many requests one read delivers.
///
/// Sits between the frame decoder and the request loop's `NIOAsyncChannel` handlers; the loop
/// writes exactly one reply per request, and each write through here settles one passed-on
/// request.
final class InlineRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RequestDispatcher
    private let connection: ConnectionState
    private let logger: Logger
    /// False once the server is shutting down: then every request goes to the loop, which
    /// refuses it with `shuttingDown`.
    private let mayAnswer: @Sendable () -> Bool
    /// Requests passed on to the request loop whose reply has not been written yet.
    private var passedOn = 0

    init(dispatcher: RequestDispatcher, connection: ConnectionState, logger: Logger, mayAnswer: @escaping @Sendable () -> Bool) {
        self.dispatcher = dispatcher
        self.connection = connection
        self.logger = logger
        self.mayAnswer = mayAnswer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard passedOn == 0, context.channel.isWritable, RequestDispatcher.inlineTypes.contains(frame.type), mayAnswer() else {
            passedOn += 1
            context.fireChannelRead(data)
            return
        }
        switch dispatcher.handleInline(frame, connection: connection, logger: logger) {
        case .declined(let message):
            // Passed on with its message, so the request loop does not decode it again.
            passedOn += 1
            context.fireChannelRead(wrapInboundOut(
                InboundFrame(type: frame.type, flags: frame.flags, requestID: frame.requestID, body: ByteBuffer(), decoded: message)))
        case .answered(let reply):
            for buffer in reply.frames { context.write(wrapOutboundOut(buffer), promise: nil) }
            context.flush()
            if reply.closeConnection { context.close(promise: nil) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if passedOn > 0 { passedOn -= 1 }
        context.write(data, promise: promise)
    }
}
