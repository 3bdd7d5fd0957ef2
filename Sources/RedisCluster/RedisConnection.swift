import CHiredis
import CoreTypes
import Glibc

/// One blocking TCP connection to one Redis node, in the clear or over TLS. hiredis formats the
/// commands (`redisFormatCommandArgv`) and parses the replies (its `redisReader`); the socket
/// is this type's own (connect with a timeout, non-blocking I/O under `poll`), and OpenSSL's
/// TLS sits on it (``TLSSession``) — Debian's hiredis 0.14 has no TLS.
///
/// Not thread-safe: one thread uses a connection at a time (``RedisCluster`` checks them out of
/// a pool, so it is `@unchecked Sendable`). After any error the connection is ``isBroken`` and
/// must be closed.
final class RedisConnection: @unchecked Sendable {
    let endpoint: RedisEndpoint
    private var descriptor: Int32
    /// The TLS session over `descriptor`; nil for a connection in the clear.
    private var tls: TLSSession?
    private let reader: UnsafeMutablePointer<redisReader>
    /// Per command batch: the whole batch must be written and answered within this many ms.
    private let timeoutMilliseconds: Int
    private(set) var isBroken = false
    /// RESP bytes written to and read from the socket so far.
    private(set) var bytesWritten = 0
    private(set) var bytesRead = 0

    /// Connects and, with `tls`, completes the TLS handshake within `connectTimeout`, then
    /// authenticates when `password` is set (`AUTH [user] password`). Throws
    /// ``RedisError/connectFailed(endpoint:reason:)``, ``RedisError/tls(endpoint:reason:)`` or
    /// ``RedisError/authenticationFailed(endpoint:message:)``.
    init(
        endpoint: RedisEndpoint, tls context: TLSContext?, connectTimeout: Duration, commandTimeout: Duration,
        username: String?, password: String?
    ) throws(RedisError) {
        self.endpoint = endpoint
        timeoutMilliseconds = max(1, commandTimeout.wholeMilliseconds)
        let connectDeadline = ContinuousClock.now + connectTimeout
        descriptor = try Self.connect(endpoint, timeoutMilliseconds: max(1, connectTimeout.wholeMilliseconds))
        reader = redisReaderCreate()
        if let context {
            do throws(RedisError) {
                let session = try context.session(descriptor: descriptor, endpoint: endpoint)
                tls = session
                while let wanted = try session.handshake() {
                    guard try wait(for: wanted, until: connectDeadline) else {
                        throw .connectFailed(
                            endpoint: endpoint,
                            reason: "no TLS handshake within \(max(0, connectTimeout.wholeMilliseconds)) ms (does the node serve TLS on this port?)")
                    }
                }
            } catch {
                close()
                throw error
            }
        }
        if let password {
            let auth = RedisCommand(username.map { ["AUTH", $0, password] } ?? ["AUTH", password], keyIndex: nil)
            let reply: RedisReply
            do {
                reply = try send([auth])[0]
            } catch {
                close()
                throw error
            }
            if case .error(let message) = reply {
                close()
                throw .authenticationFailed(endpoint: endpoint, message: message)
            }
        }
    }

    deinit { close() }

    /// Ends a round trip another thread is waiting in, at once (its `send` throws
    /// `connectionLost`): shuts the socket down without closing the descriptor, so no other
    /// file can take its number meanwhile.
    func interrupt() {
        let descriptor = descriptor
        if descriptor >= 0 { shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    /// Closes the socket and frees the reader; idempotent.
    func close() {
        tls = nil
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
            redisReaderFree(reader)
        }
        isBroken = true
    }

    /// Writes `commands` back to back and reads one reply for each (pipelining), in order,
    /// within the command timeout or by `deadline` when that comes first (a caller's retry
    /// budget: a node that accepted the connection but does not answer costs no more).
    /// Error replies are returned as ``RedisReply/error(_:)``; a failing socket, a timeout or
    /// unparseable bytes throw and break the connection.
    func send(_ commands: [RedisCommand], until deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> [RedisReply] {
        guard !isBroken else { throw .connectionLost(endpoint: endpoint, reason: "connection already failed") }
        var output: [UInt8] = []
        for command in commands { try Self.format(command, into: &output, endpoint: endpoint) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        let timeout = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        let deadline = deadline.map { min($0, timeout) } ?? timeout
        var written = 0
        var input = [UInt8](repeating: 0, count: 1 << 16)
        do {
            while replies.count < commands.count {
                guard ContinuousClock.now < deadline else { throw RedisError.timeout(endpoint: endpoint) }
                // Move what can move without waiting; wait only when neither direction can.
                var wanted: TransportResult? = nil
                if written < output.count {
                    let result = try output.withUnsafeBytes { try write($0.baseAddress! + written, count: $0.count - written) }
                    switch result {
                    case .transferred(let count):
                        written += count
                        bytesWritten += count
                    case .closed: throw RedisError.connectionLost(endpoint: endpoint, reason: "closed by the server")
                    default: wanted = result
                    }
                }
                let result = try input.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count) }
                switch result {
                case .transferred(let count):
                    bytesRead += count
                    let fed = input.withUnsafeBytes { redisReaderFeed(reader, $0.baseAddress!.assumingMemoryBound(to: CChar.self), count) }
                    guard fed == REDIS_OK else { throw RedisError.protocolError(endpoint: endpoint, reason: readerError) }
                    while replies.count < commands.count {
                        var object: UnsafeMutableRawPointer? = nil
                        guard redisReaderGetReply(reader, &object) == REDIS_OK else {
                            throw RedisError.protocolError(endpoint: endpoint, reason: readerError)
                        }
                        guard let object else { break }
                        replies.append(RedisReply(object.assumingMemoryBound(to: redisReply.self)))
                        freeReplyObject(object)
                    }
                    continue
                case .closed: throw RedisError.connectionLost(endpoint: endpoint, reason: "closed by the server")
                default:
                    // A write that moved bytes goes on at once; otherwise wait for the socket.
                    if written < output.count, wanted == nil { continue }
                    guard try wait(for: wanted ?? result, and: wanted == nil ? nil : result, until: deadline) else {
                        throw RedisError.timeout(endpoint: endpoint)
                    }
                }
            }
        } catch let error as RedisError {
            close()
            throw error
        } catch {
            close()
            throw .connectionLost(endpoint: endpoint, reason: "\(error)")
        }
        return replies
    }

    /// One non-blocking write of up to `count` bytes (TLS or the socket's own `send`).
    private func write(_ bytes: UnsafeRawPointer, count: Int) throws(RedisError) -> TransportResult {
        if let tls { return try tls.write(bytes, count: count) }
        let sent = Glibc.send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
        if sent > 0 { return .transferred(sent) }
        if sent < 0 && (errno == EAGAIN || errno == EINTR) { return .wantWrite }
        throw .connectionLost(endpoint: endpoint, reason: "send: \(String(cString: strerror(errno)))")
    }

    /// One non-blocking read of up to `count` bytes.
    private func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(RedisError) -> TransportResult {
        if let tls { return try tls.read(into: buffer, count: count) }
        let received = recv(descriptor, buffer, count, 0)
        if received > 0 { return .transferred(received) }
        if received == 0 { return .closed }
        if errno == EAGAIN || errno == EINTR { return .wantRead }
        throw .connectionLost(endpoint: endpoint, reason: "recv: \(String(cString: strerror(errno)))")
    }

    /// Waits until the socket is ready for what `first` (and `second`) want, or `deadline`:
    /// false when the deadline came first.
    private func wait(for first: TransportResult, and second: TransportResult? = nil, until deadline: ContinuousClock.Instant) throws(RedisError) -> Bool {
        var events: Int16 = 0
        for wanted in [first, second] {
            switch wanted {
            case .wantRead?: events |= Int16(POLLIN)
            case .wantWrite?: events |= Int16(POLLOUT)
            default: break
            }
        }
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            var pollDescriptor = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&pollDescriptor, 1, Int32(clamping: remaining.wholeMilliseconds + 1))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR {
                throw .connectionLost(endpoint: endpoint, reason: "poll: \(String(cString: strerror(errno)))")
            }
        }
    }

    private var readerError: String {
        withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Appends the RESP encoding of `command` (hiredis's formatter) to `output`.
    private static func format(_ command: RedisCommand, into output: inout [UInt8], endpoint: RedisEndpoint) throws(RedisError) {
        let length: Int32 = command.storage.withUnsafeBufferPointer { storage in
            let base = UnsafeRawPointer(storage.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = command.ranges.map { base + $0.lowerBound }
            var lengths: [Int] = command.ranges.map(\.count)
            var target: UnsafeMutablePointer<CChar>? = nil
            let length = redisFormatCommandArgv(&target, Int32(command.ranges.count), &pointers, &lengths)
            if length > 0, let target {
                output.append(contentsOf: UnsafeRawBufferPointer(start: target, count: Int(length)))
            }
            redisFreeCommand(target)
            return length
        }
        guard length > 0 else { throw .protocolError(endpoint: endpoint, reason: "hiredis could not format \(command.name)") }
    }

    /// Resolves `endpoint` and connects to the first address that accepts within the timeout;
    /// the socket is left non-blocking, with TCP_NODELAY and keep-alive.
    private static func connect(_ endpoint: RedisEndpoint, timeoutMilliseconds: Int) throws(RedisError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let list else {
            throw .connectFailed(endpoint: endpoint, reason: "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { lastError = "socket: errno \(errno)"; continue }
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = String(cString: strerror(errno))
                Glibc.close(fd)
                continue
            }
            var pollDescriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&pollDescriptor, 1, Int32(clamping: timeoutMilliseconds)) } while ready < 0 && errno == EINTR
            var socketError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            if ready == 1, getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size) == 0, socketError == 0 {
                var on: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = ready == 0 ? "timed out after \(timeoutMilliseconds) ms" : String(cString: strerror(socketError != 0 ? socketError : errno))
            Glibc.close(fd)
        }
        throw .connectFailed(endpoint: endpoint, reason: lastError)
    }
}
