#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Protocol

/// One socket connection: a dedicated I/O thread polls the non-blocking socket, writes queued
/// frames in order and matches replies to waiting calls by request id. Any number of calls
/// may be in flight (pipelining). When the connection ends for any reason, every waiting
/// call is resumed with the reason; none is left hanging.
///
/// Reading has one owner at a time: the I/O thread, or a caller of ``request(_:)`` that found
/// the connection idle and reads its own reply for a short while (``KVClientConfiguration/inlineReadMicroseconds``).
/// A round trip on an idle connection then wakes no thread of this process: the caller sends
/// and reads on its own thread. The I/O thread polls for input only while some request is
/// waiting and no caller is reading; an idle connection still learns of a server hang-up,
/// which `poll` reports unasked.
final class Connection: Sendable {
    private struct State {
        var pending: [UInt64: ReplySlot] = [:]
        /// Frames not yet completely written, oldest first; `queueHead` indexes the first,
        /// `headOffset` the bytes of it already written.
        var queue: [[UInt8]] = []
        var queueHead = 0
        var headOffset = 0
        var nextID: UInt64 = 1
        var closedReason: KVClientError?
        /// A connection-level error the server sent (request id 0) before closing.
        var serverError: ProtocolError?
        /// The largest frame the server accepts (from its `helloOK`).
        var sendLimit: UInt32 = ProtocolLimits.minimumMaxFrameBytes
        var receiveLimits: ProtocolLimits
        /// Set (under the lock) when the I/O thread has closed the socket and the wake pipe:
        /// from then on nobody may touch those descriptor numbers, which the process may
        /// already have reused for other files or sockets.
        var descriptorsClosed = false
        var hasQueuedBytes: Bool { queueHead < queue.count }
        /// A caller is reading the socket for its own reply (``Connection/readInline(until:)``).
        var callerReading = false
        /// The I/O thread is reading the socket.
        var ioReading = false
        /// Whether the I/O thread's current `poll` asks for input. When false, whoever leaves
        /// a waiting request without a reader must wake it.
        var ioPollsInput = false
        /// Frames received, replies delivered to a waiting call, replies without one.
        var framesReceived = 0
        var repliesDelivered = 0
        var repliesDropped = 0
        var bytesReceived = 0
        var bytesSent = 0
    }

    let socketPath: String
    private let fd: Int32
    private let wakePipe: WakePipe
    private let state: Locked<State>
    private let receive: ReceiveSide
    private let inlineReadNanoseconds: UInt64

    private init(socketPath: String, fd: Int32, wakePipe: WakePipe, configuration: KVClientConfiguration) {
        self.socketPath = socketPath
        self.fd = fd
        self.wakePipe = wakePipe
        self.receive = ReceiveSide(
            splitter: FrameSplitter(maxFrameBytes: configuration.maxFrameBytes),
            bufferBytes: max(4096, configuration.receiveBufferBytes))
        self.inlineReadNanoseconds = UInt64(max(0, configuration.inlineReadMicroseconds)) * 1000
        self.state = Locked(State(receiveLimits: ProtocolLimits(maxFrameBytes: configuration.maxFrameBytes)))
    }

    /// Connects and starts the I/O thread (no handshake yet).
    static func open(socketPath: String, configuration: KVClientConfiguration) throws(KVClientError) -> Connection {
        let fd = try UnixSocket.connect(path: socketPath)
        let wake: WakePipe
        do {
            wake = try WakePipe()
        } catch {
            _ = closeFD(fd)
            throw error
        }
        let connection = Connection(socketPath: socketPath, fd: fd, wakePipe: wake, configuration: configuration)
        let started = startThread { connection.run() }
        guard started == 0 else {
            _ = closeFD(fd)
            wake.close()
            throw .connectFailed(path: socketPath, errno: started, reason: "cannot start the I/O thread: \(UnixSocket.errorText(started))")
        }
        return connection
    }

    /// Sets limits learnt from the server's `helloOK`.
    func configure(server: HelloOK) {
        state.withLock {
            $0.sendLimit = server.maxFrameBytes
            $0.receiveLimits.maxBlocksPerRequest = max($0.receiveLimits.maxBlocksPerRequest, server.maxBlocksPerRequest)
        }
    }

    /// Internal state for diagnostics: waiting calls, queued frames, bytes of the head frame
    /// already written, whether closed.
    var debugSummary: String {
        state.withLock { s in
            "received=\(s.framesReceived) bytesIn=\(s.bytesReceived) bytesOut=\(s.bytesSent) delivered=\(s.repliesDelivered) dropped=\(s.repliesDropped) pending=\(s.pending.count) ids=\(s.pending.keys.sorted().prefix(8)) queued=\(s.queue.count - s.queueHead) headOffset=\(s.headOffset) nextID=\(s.nextID) closed=\(s.closedReason.map { "\($0)" } ?? "no")"
        }
    }

    /// The wake pipe's write descriptor and whether the I/O thread has closed its descriptors
    /// (tests: no write may reach a recycled descriptor number).
    var debugWakeWriteFD: Int32 { wakePipe.writeFD }
    var debugDescriptorsClosed: Bool { state.withLock { $0.descriptorsClosed } }

    /// Whether the connection has ended.
    var isClosed: Bool { state.withLock { $0.closedReason != nil } }

    /// Queues `message` for writing now (frames go out in the order of `enqueue` calls) and
    /// returns its request id and the slot its reply will complete. Never blocks.
    func enqueue(_ message: Message) -> (id: UInt64, slot: ReplySlot) {
        let (id, slot, _) = enqueue(message, claimReader: false)
        return (id, slot)
    }

    /// `enqueue(_:)`, and with `claimReader`, makes the caller the socket's reader when the
    /// frame went out whole and nobody else is reading (`claimed`); the caller must then call
    /// ``readInline(until:)``, which gives the role back.
    private func enqueue(_ message: Message, claimReader: Bool) -> (id: UInt64, slot: ReplySlot, claimed: Bool) {
        let (id, limit) = state.withLock { s -> (UInt64, UInt32) in
            defer { s.nextID &+= 1 }
            return (s.nextID, s.sendLimit)
        }
        let bytes: [UInt8]
        do {
            bytes = try message.encodeFrame(requestID: id, maxFrameBytes: message.type == .hello ? ProtocolLimits.minimumMaxFrameBytes : limit)
        } catch {
            return (id, ReplySlot(completed: .failure(.invalidRequest(error))), false)
        }
        let slot = ReplySlot()
        let (refused, needsWake, claimed) = state.withLock { s -> (KVClientError?, Bool, Bool) in
            if let reason = s.closedReason { return (reason, false, false) }
            s.pending[id] = slot
            if !s.hasQueuedBytes && !s.descriptorsClosed {
                // Fast path: nothing is queued, so the I/O thread is not writing; send from the
                // calling thread (under the lock, so frames stay in order) and spare the wake-up
                // of the I/O thread. Whatever does not fit is queued for it as usual; errors are
                // left to it too (it reports them when it retries).
                let n = bytes.withUnsafeBytes { raw in
                    send(fd, raw.baseAddress!, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                }
                if n == bytes.count {
                    s.bytesSent += n
                    if claimReader && !s.callerReading && !s.ioReading {
                        s.callerReading = true
                        return (nil, false, true)
                    }
                    // The reply needs a reader: wake the I/O thread unless it already polls for input.
                    return (nil, !s.ioPollsInput, false)
                }
                if n > 0 {
                    s.bytesSent += n
                    s.headOffset = n
                }
            }
            s.queue.append(bytes)
            return (nil, true, false)
        }
        if let refused {
            slot.complete(.failure(refused))
        } else if needsWake {
            wake()
        }
        return (id, slot, claimed)
    }

    /// Busy-polls the socket on the calling thread until `slot` is completed, the connection
    /// ends, or the inline budget is spent; then gives the reader role back, waking the I/O thread if a
    /// request is still waiting for it. Frames of other requests read meanwhile are delivered
    /// as usual. Only the caller that claimed the role in `enqueue` may call this.
    private func readInline(until slot: ReplySlot) {
        let start = monotonicNanoseconds()
        while !slot.isCompleted {
            if state.withLock({ $0.closedReason != nil }) { break }
            let n = receive.buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                if !consume(count: n) { break }
                continue
            }
            if n == 0 {
                fail("the server closed the connection")
                break
            }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                fail("read failed: \(UnixSocket.errorText(code))")
                break
            }
            if monotonicNanoseconds() &- start >= inlineReadNanoseconds { break }
        }
        let needsWake = state.withLock { s -> Bool in
            s.callerReading = false
            return !s.ioPollsInput && (!s.pending.isEmpty || s.closedReason != nil)
        }
        if needsWake { wake() }
    }

    /// Waits for the reply of an enqueued request; cancelling the waiting task completes it
    /// with `.cancelled` (a late reply is dropped).
    func wait(id: UInt64, slot: ReplySlot) async -> Result<Message, KVClientError> {
        await withTaskCancellationHandler {
            if Task.isCancelled { cancel(id, slot: slot) }
            return await slot.wait()
        } onCancel: {
            cancel(id, slot: slot)
        }
    }

    /// Sends `message` and waits for its reply. Error replies come back as `.server`. On an
    /// idle connection the calling thread first reads the reply itself (see the type's
    /// documentation); a reply that takes longer is awaited without holding the thread.
    func request(_ message: Message) async -> Result<Message, KVClientError> {
        let (id, slot, claimed) = enqueue(message, claimReader: inlineReadNanoseconds > 0)
        if claimed { readInline(until: slot) }
        return await wait(id: id, slot: slot)
    }

    private func cancel(_ id: UInt64, slot: ReplySlot) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
        slot.complete(.failure(.cancelled))
    }

    /// Closes the connection; every waiting call fails with `connectionClosed`.
    func close(reason: String = "closed by the client") {
        state.withLock { s in
            if s.closedReason == nil { s.closedReason = .connectionClosed(reason: reason, serverError: nil) }
        }
        wake()
    }

    /// Wakes the I/O thread, unless it has already closed its descriptors (writing to a
    /// closed descriptor number could hit a file or socket that reused it).
    private func wake() {
        state.withLock { s in
            if !s.descriptorsClosed { wakePipe.wake() }
        }
    }

    // MARK: - I/O thread

    private func run() {
        var fds = [pollfd(fd: fd, events: 0, revents: 0), pollfd(fd: wakePipe.readFD, events: Int16(POLLIN), revents: 0)]
        loop: while true {
            let (wantWrite, wantRead, closed) = state.withLock { s -> (Bool, Bool, Bool) in
                s.ioPollsInput = !s.callerReading && !s.pending.isEmpty
                return (s.hasQueuedBytes, s.ioPollsInput, s.closedReason != nil)
            }
            if closed { break }
            fds[0].events = (wantRead ? Int16(POLLIN) : 0) | (wantWrite ? Int16(POLLOUT) : 0)
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                fail("poll: \(UnixSocket.errorText(errno))")
                break
            }
            if fds[1].revents != 0 { wakePipe.drain() }
            let events = fds[0].revents
            if events & Int16(POLLOUT) != 0 {
                if !writeQueued() {
                    readLastWords()
                    break loop
                }
            }
            if events & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                let mayRead = state.withLock { s -> Bool in
                    guard !s.callerReading else { return false }
                    s.ioReading = true
                    return true
                }
                if mayRead {
                    let open = readAvailable()
                    state.withLock { $0.ioReading = false }
                    if !open { break loop }
                } else {
                    // A caller is reading and will see the same hang-up; do not spin meanwhile.
                    usleep(20)
                }
            }
            if events & Int16(POLLNVAL) != 0 {
                fail("socket descriptor became invalid")
                break
            }
        }
        // A caller reading inline gives the role back within its budget; only then may the
        // descriptor numbers be released.
        while !state.withLock({ s -> Bool in
            guard !s.callerReading else { return false }
            s.descriptorsClosed = true
            _ = shutdown(fd, Int32(SHUT_RDWR))
            _ = closeFD(fd)
            wakePipe.close()
            return true
        }) {
            usleep(20)
        }
        failAll()
    }

    /// After a failed write: reads what the server sent before it closed — a connection-level
    /// error such as `tooManyConnections` or `connectionTimedOut`, which then becomes the
    /// `serverError` of the close — unless a caller holds the reader role (it sees it itself).
    private func readLastWords() {
        let mayRead = state.withLock { s -> Bool in
            guard !s.callerReading else { return false }
            s.ioReading = true
            return true
        }
        guard mayRead else { return }
        _ = readAvailable()
        state.withLock { $0.ioReading = false }
    }

    /// Writes queued frames until the socket would block; false when the connection failed.
    private func writeQueued() -> Bool {
        while true {
            guard let (frame, offset) = state.withLock({ s -> ([UInt8], Int)? in
                s.hasQueuedBytes ? (s.queue[s.queueHead], s.headOffset) : nil
            }) else { return true }
            let n = frame.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return true
                case let e:
                    fail("write failed: \(UnixSocket.errorText(e))")
                    return false
                }
            }
            state.withLock { s in
                s.bytesSent += n
                s.headOffset += n
                if s.headOffset == s.queue[s.queueHead].count {
                    s.queue[s.queueHead] = []
                    s.queueHead += 1
                    s.headOffset = 0
                    if s.queueHead == s.queue.count {
                        s.queue.removeAll(keepingCapacity: true)
                        s.queueHead = 0
                    } else if s.queueHead >= 64 && s.queueHead * 2 >= s.queue.count {
                        s.queue.removeFirst(s.queueHead)
                        s.queueHead = 0
                    }
                }
            }
        }
    }

    /// Reads until the socket would block, delivering complete frames; false when the
    /// connection ended. The I/O thread calls it holding the reader role.
    private func readAvailable() -> Bool {
        while true {
            let n = receive.buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                if !consume(count: n) { return false }
                continue
            }
            if n == 0 {
                fail("the server closed the connection")
                return false
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return true
            case let e:
                fail("read failed: \(UnixSocket.errorText(e))")
                return false
            }
        }
    }

    /// Splits the first `count` bytes of the receive buffer into frames and delivers them;
    /// false (connection failed) when the stream is malformed. Reader role only.
    private func consume(count n: Int) -> Bool {
        state.withLock { $0.bytesReceived += n }
        receive.buffer.withUnsafeBytes { receive.splitter.feed(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        do {
            while let frame = try receive.splitter.next() { deliver(frame) }
        } catch {
            fail(.protocolViolation(error))
            return false
        }
        return true
    }

    private func deliver(_ frame: Frame) {
        let limits = state.withLock { $0.receiveLimits }
        let result: Result<Message, KVClientError>
        do {
            switch try Message.decodeReply(frame, limits: limits) {
            case .error(let error):
                if frame.requestID == 0 {
                    // Connection-level error; the server closes next.
                    state.withLock { $0.serverError = error }
                    return
                }
                result = .failure(.server(error))
            case let message:
                result = .success(message)
            }
        } catch {
            result = .failure(.protocolViolation(error))
        }
        // Unknown ids belong to cancelled calls: their replies are dropped.
        let slot = state.withLock { s -> ReplySlot? in
            s.framesReceived += 1
            let slot = s.pending.removeValue(forKey: frame.requestID)
            if slot == nil { s.repliesDropped += 1 } else { s.repliesDelivered += 1 }
            return slot
        }
        slot?.complete(result)
    }

    private func fail(_ reason: String) {
        fail(.connectionClosed(reason: reason, serverError: nil))
    }

    private func fail(_ reason: KVClientError) {
        state.withLock { s in
            if s.closedReason == nil { s.closedReason = reason }
        }
    }

    /// Resumes every waiting call with the close reason (plus the server's last
    /// connection-level error, if it sent one).
    private func failAll() {
        let (waiting, reason) = state.withLock { s -> ([ReplySlot], KVClientError) in
            var reason = s.closedReason ?? .connectionClosed(reason: "connection ended", serverError: nil)
            if case .connectionClosed(let text, nil) = reason, let serverError = s.serverError {
                reason = .connectionClosed(reason: text, serverError: serverError)
            }
            s.closedReason = reason
            let waiting = Array(s.pending.values)
            s.pending.removeAll()
            s.queue.removeAll()
            s.queueHead = 0
            s.headOffset = 0
            return (waiting, reason)
        }
        for slot in waiting { slot.complete(.failure(reason)) }
    }
}

/// The receive buffers of a ``Connection``. Only the holder of the reader role touches them:
/// the I/O thread while `ioReading` is set, or a caller while `callerReading` is set; the
/// connection's lock orders the hand-overs.
private final class ReceiveSide: @unchecked Sendable {
    var splitter: FrameSplitter
    var buffer: [UInt8]

    init(splitter: FrameSplitter, bufferBytes: Int) {
        self.splitter = splitter
        self.buffer = [UInt8](repeating: 0, count: bufferBytes)
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}
