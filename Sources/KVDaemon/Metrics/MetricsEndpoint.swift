import PrometheusMetrics
import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 responder for Prometheus scrapes: `GET /metrics` is answered with the
/// exposition text (`PrometheusExposition`), anything else with 404 or 405; every response
/// closes the connection (`Connection: close`). Requests larger than 8 KiB are refused (431).
///
/// It listens on its own socket (`MetricsAddress`), separate from the protocol socket, and uses
/// the daemon's event-loop group. The text is produced by `render` in a task that prefers
/// `executor` (the daemon's request threads; nil: the Swift concurrency pool), never on
/// the event loop.
public final class MetricsEndpoint: Sendable {
    /// Largest request head accepted, in bytes.
    static let maximumRequestBytes = 8192

    /// The address listened on (for TCP with port 0 in tests, the bound port is in `port`).
    public let address: MetricsAddress
    private let channel: any Channel

    /// The bound TCP port, or nil for a Unix socket.
    public var port: Int? { channel.localAddress?.port }

    private init(address: MetricsAddress, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    /// Binds `address` and starts answering. A stale Unix socket file is replaced; a live one is
    /// `DaemonError.socketInUse`; a world-writable directory is `DaemonError.invalidConfiguration`.
    /// The Unix socket file gets `mode` (``SocketFile/bindListening(path:mode:group:backlog:)``).
    public static func start(
        address: MetricsAddress, mode: UInt32 = 0o660, group: any EventLoopGroup, executor: (any TaskExecutor)? = nil,
        render: @escaping @Sendable () async -> String
    ) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(executor: executor, render: render))
                }
            }
        let channel: any Channel
        switch address {
        case .unix(let path):
            try SocketFile.checkNotWorldWritable(SocketFile.parentDirectory(of: path), what: "metrics socket directory")
            try SocketFile.prepare(path: path)
            // Created with its mode in a private directory and linked into place (no umask
            // change, no chmod through a path that could be a symlink).
            let descriptor = try SocketFile.bindListening(path: path, mode: mode, group: nil, backlog: 64)
            do {
                channel = try await bootstrap.withBoundSocket(descriptor).get()
            } catch {
                SocketFile.remove(path: path)
                throw error
            }
        case .tcp(let host, let port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        }
        return MetricsEndpoint(address: address, channel: channel)
    }

    /// Stops listening and removes the Unix socket file.
    public func close() async {
        try? await channel.close()
        if case .unix(let path) = address { SocketFile.remove(path: path) }
    }
}

/// One scrape connection: collects the request head, answers once, closes.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let executor: (any TaskExecutor)?
    private let render: @Sendable () async -> String
    private var head: [UInt8] = []
    private var answered = false

    init(executor: (any TaskExecutor)?, render: @escaping @Sendable () async -> String) {
        self.executor = executor
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = unwrapInboundIn(data)
        head += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = Self.headEnd(head) else {
            if head.count > MetricsEndpoint.maximumRequestBytes {
                respond(context: context, status: "431 Request Header Fields Too Large", body: "request too large\n")
            }
            return
        }
        let requestLine = String(decoding: head[..<(head.firstIndex(of: UInt8(ascii: "\r")) ?? end)], as: UTF8.self)
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            respond(context: context, status: "400 Bad Request", body: "malformed request line\n")
            return
        }
        let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        guard path == "/metrics" else {
            respond(context: context, status: "404 Not Found", body: "only /metrics is served\n")
            return
        }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            respond(context: context, status: "405 Method Not Allowed", body: "use GET\n", extra: "Allow: GET, HEAD\r\n")
            return
        }
        answered = true
        Self.scrape(channel: context.channel, executor: executor, render: render, headOnly: parts[0] == "HEAD")
    }

    /// Renders on `executor` (nil: the concurrency pool), then writes the response and closes.
    private static func scrape(
        channel: any Channel, executor: (any TaskExecutor)?, render: @escaping @Sendable () async -> String, headOnly: Bool
    ) {
        Task(executorPreference: executor) {
            let text = await render()
            let response = Self.response(
                status: "200 OK", contentType: PrometheusText.contentType, body: text, extra: "", headOnly: headOnly)
            channel.writeAndFlush(ByteBuffer(bytes: response)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(context: ChannelHandlerContext, status: String, body: String, extra: String = "") {
        answered = true
        let bytes = Self.response(status: status, contentType: "text/plain; charset=utf-8", body: body, extra: extra, headOnly: false)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Index just past the blank line ending the request head, if present.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    static func response(status: String, contentType: String, body: String, extra: String, headOnly: Bool) -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bodyBytes.count)\r\n\(extra)Connection: close\r\n\r\n"
        return Array(head.utf8) + (headOnly ? [] : bodyBytes)
    }
}
