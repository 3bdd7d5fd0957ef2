import NIOCore
import Protocol

/// Closes a connection that does not complete the handshake within the handshake timeout, or
/// that sends no request for the idle timeout while none of its requests is in flight: it is
/// sent `connectionTimedOut` (request id 0) and closed. Sits right after the frame decoder, so
/// every complete frame counts as activity (bytes of an unfinished frame do not).
///
/// Timers run on the channel's event loop; nothing here is touched from another thread.
final class ConnectionDeadlineHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = InboundFrame

    /// Which deadline passed.
    enum Expiry: Sendable {
        case handshake, idle
    }

    private let connection: ConnectionState
    /// Seconds to complete the handshake; nil: no limit.
    private let handshakeTimeout: Int?
    /// Seconds without a request while nothing is in flight; nil: no limit.
    private let idleTimeout: Int?
    /// True when no request of the connection is in flight (taken up and not yet answered).
    private let isIdle: @Sendable () -> Bool
    /// Called once, on the event loop, when the connection is closed for a deadline.
    private let expired: @Sendable (Expiry) -> Void
    /// When the last complete frame arrived (or the handler was added).
    private var lastFrame = NIODeadline.now()
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var closed = false

    init(
        connection: ConnectionState, handshakeTimeout: Int?, idleTimeout: Int?,
        isIdle: @escaping @Sendable () -> Bool, expired: @escaping @Sendable (Expiry) -> Void
    ) {
        self.connection = connection
        self.handshakeTimeout = handshakeTimeout.flatMap { $0 > 0 ? $0 : nil }
        self.idleTimeout = idleTimeout.flatMap { $0 > 0 ? $0 : nil }
        self.isIdle = isIdle
        self.expired = expired
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastFrame = .now()
        let loop = context.eventLoop.assumeIsolated()
        if let handshakeTimeout {
            handshakeTimer = loop.scheduleTask(in: .seconds(Int64(handshakeTimeout))) { [self] in
                if !connection.handshakeDone { expire(.handshake, context: context) }
            }
        }
        if let idleTimeout { scheduleIdleCheck(at: lastFrame + .seconds(Int64(idleTimeout)), context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closed = true
        handshakeTimer?.cancel()
        idleTimer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastFrame = .now()
        context.fireChannelRead(data)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        guard let idleTimeout, !closed else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            let due = lastFrame + .seconds(Int64(idleTimeout))
            if due > .now() {
                scheduleIdleCheck(at: due, context: context)
            } else if !isIdle() {
                // A request is in flight (e.g. a long verify): idle time starts after it.
                scheduleIdleCheck(at: .now() + .seconds(Int64(idleTimeout)), context: context)
            } else {
                expire(.idle, context: context)
            }
        }
    }

    private func expire(_ expiry: Expiry, context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        expired(expiry)
        let text = switch expiry {
        case .handshake: "no hello within \(handshakeTimeout ?? 0) s"
        case .idle: "no request within \(idleTimeout ?? 0) s"
        }
        let frame = (try? Message.error(ProtocolError(.connectionTimedOut, text)).encodeFrame(requestID: 0)) ?? []
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: frame))).whenComplete { _ in channel.close(promise: nil) }
    }
}
