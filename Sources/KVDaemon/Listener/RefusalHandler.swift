import NIOCore

/// The only handler of a connection that was not admitted: once the channel is active it sends
/// the refusal frame (`tooManyConnections`, request id 0) and then closes it, without reading.
///
/// The refusal is decided in the child initializer, before NIO registers the channel; a write
/// issued there can fail for want of an active channel, and the client would see a bare close
/// instead of the reason. Writing from `channelActive` (or at once, if the channel is already
/// active when the handler is added) always reaches the client's receive queue.
final class RefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let notice: ByteBuffer
    private var sent = false

    init(notice: ByteBuffer) {
        self.notice = notice
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(notice)).whenComplete { _ in channel.close(promise: nil) }
    }
}
