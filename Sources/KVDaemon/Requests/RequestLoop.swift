import Logging
import NIOCore
import Protocol

/// The request loop of one connection: a reader that takes up the connection's requests in
/// the order they arrive and a writer that writes their replies in the same order.
///
/// Ordering (docs/PROTOCOL.md §5): a request other than `appendBlocks` is executed only after
/// the reply of every earlier request was written, so it sees every earlier request's effects.
/// An `appendBlocks` is taken up (checked, payloads encoded, queued in the store) while up to
/// `pipelineDepth − 1` earlier requests still await their replies; appends are queued in the
/// store in arrival order, so the store commits them in that order (several may share one group
/// commit), and each is acknowledged only after the transaction holding it committed. Encoding
/// the next append thus overlaps the commit (write, fsync) of the previous one. With
/// `pipelineDepth` 1 every request is executed after the previous reply was written.
///
/// Memory: at most `pipelineDepth` requests are taken up and not yet answered, plus the frames
/// the channel buffers before the reader (two).
struct RequestLoop: Sendable {
    let dispatcher: RequestDispatcher
    let connection: ConnectionState
    let logger: Logger
    /// Requests taken up whose reply is not yet written, at most (≥ 1).
    let pipelineDepth: Int
    /// Marks one more request in flight; false when the server is shutting down (the request is
    /// then refused with `shuttingDown`).
    let beginRequest: @Sendable () -> Bool
    /// Marks a request answered (its reply written); returns whether the server is shutting down
    /// and how many requests of the connection remain in flight.
    let endRequest: @Sendable () -> (shuttingDown: Bool, inFlight: Int)

    /// What the reader hands the writer, in request order.
    private enum Entry: Sendable {
        case request(StartedRequest)
        /// A request read after the shutdown began: answered with `shuttingDown`, then the end.
        case refusal(requestID: UInt64)
        /// The byte stream cannot be split into frames: answered once, then the end.
        case framingError(ProtocolError)
    }

    /// Serves the connection until the client closes it, a reply closes it, a write fails, or
    /// the shutdown finished its in-flight requests.
    func run(inbound: NIOAsyncChannelInboundStream<InboundFrame>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
        let (entries, entrySink) = AsyncStream.makeStream(of: Entry.self)
        // One element per reply written: the reader's credit to take up another request.
        let (written, writtenSink) = AsyncStream.makeStream(of: Void.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await read(inbound, into: entrySink, written: written)
                entrySink.finish()
            }
            await writeReplies(entries, to: outbound, written: writtenSink) { group.cancelAll() }
            writtenSink.finish()
            group.cancelAll()
        }
    }

    // MARK: - Reader

    private func read(
        _ inbound: NIOAsyncChannelInboundStream<InboundFrame>, into entries: AsyncStream<Entry>.Continuation,
        written: AsyncStream<Void>
    ) async {
        var credits = written.makeAsyncIterator()
        var unanswered = 0
        /// Waits until at most `limit` taken-up requests are unanswered; false when the writer ended.
        func waitUntilUnanswered(atMost limit: Int) async -> Bool {
            while unanswered > limit {
                guard await credits.next() != nil else { return false }
                unanswered -= 1
            }
            return true
        }
        do {
            for try await frame in inbound {
                let isAppend = RequestDispatcher.isAppend(frame)
                guard await waitUntilUnanswered(atMost: isAppend ? pipelineDepth - 1 : 0) else { return }
                // Cancelled: the writer ended, or the shutdown stopped the reading (then
                // `beginRequest` fails too and the request is refused by its id).
                guard !Task.isCancelled, beginRequest() else {
                    entries.yield(.refusal(requestID: frame.requestID))
                    return
                }
                let started: StartedRequest
                if isAppend {
                    started = await dispatcher.startAppend(frame, connection: connection, logger: logger)
                } else {
                    started = .ready(await dispatcher.handle(frame, connection: connection, logger: logger))
                }
                unanswered += 1
                entries.yield(.request(started))
                if case .ready(let reply) = started, reply.closeConnection { return }
            }
        } catch let error as ProtocolError {
            entries.yield(.framingError(error))
        } catch {
            logger.debug("connection ended with error", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Writer

    private func writeReplies(
        _ entries: AsyncStream<Entry>, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        written: AsyncStream<Void>.Continuation, stopReading: () -> Void
    ) async {
        // Set once the server is shutting down and no request is in flight: the reader is
        // stopped; what it still hands over (a refusal) is written, then the notice.
        var stopping = false
        for await entry in entries {
            let reply: Reply
            switch entry {
            case .request(let request):
                reply = await dispatcher.reply(to: request, connection: connection, logger: logger)
            case .refusal(let requestID):
                dispatcher.metrics.error(code: "\(ErrorCode.shuttingDown)", countsAsRequest: true)
                try? await outbound.write(DaemonServer.shutdownNotice(requestID: requestID))
                return
            case .framingError(let error):
                logger.notice("malformed stream, closing connection", metadata: ["error": "\(error)"])
                try? await outbound.write(dispatcher.replyToFramingError(error))
                return
            }
            var ok = true
            do {
                for buffer in reply.frames { try await outbound.write(buffer) }
            } catch {
                ok = false
            }
            written.yield()
            let (shuttingDown, inFlight) = endRequest()
            if !ok || reply.closeConnection { return }
            if shuttingDown && inFlight == 0 && !stopping {
                stopping = true
                stopReading()
            }
        }
        if stopping { try? await outbound.write(DaemonServer.shutdownNotice(requestID: 0)) }
    }
}
