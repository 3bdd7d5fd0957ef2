import NIOCore

/// Counts a connection's bytes as they cross the socket: `bytes.received` (everything read,
/// frames or not) and `bytes.sent` (every reply and notice written). First in the pipeline,
/// so it sees raw bytes both ways.
final class TrafficCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: DaemonMetrics

    init(metrics: DaemonMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        metrics.add("bytes.received", UInt64(unwrapInboundIn(data).readableBytes))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        metrics.add("bytes.sent", UInt64(unwrapOutboundIn(data).readableBytes))
        context.write(data, promise: promise)
    }
}
