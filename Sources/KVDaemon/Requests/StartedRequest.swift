import Foundation
import Logging
import Protocol

/// A request the connection's request loop has taken up: either its reply is ready, or it is an
/// append queued in the store whose reply is ready once the transaction holding it commits.
enum StartedRequest: Sendable {
    case ready(Reply)
    /// An `appendBlocks` queued in the store; `started` is when it was taken up.
    case append(requestID: UInt64, started: ContinuousClock.Instant, QueuedAppend)
}

extension RequestDispatcher {
    /// True for an `appendBlocks` frame: the request loop may take it up before the replies of
    /// earlier appends are written (``startAppend(_:connection:logger:)``).
    static func isAppend(_ frame: InboundFrame) -> Bool {
        frame.type == MessageType.appendBlocks.rawValue
    }

    /// Takes up an `appendBlocks` frame: decodes and checks it, encodes its payloads and queues
    /// it in the store, without waiting for the commit. Appends taken up one after another are
    /// committed in that order. A request that fails before it is queued gets its error reply
    /// at once (`.ready`).
    func startAppend(_ frame: InboundFrame, connection: ConnectionState, logger: Logger) async -> StartedRequest {
        let started = ContinuousClock.now
        do {
            guard case .appendBlocks(let request) = try decode(frame, connection: connection) else {
                throw ProtocolError(.internal, "frame of type 0x\(String(frame.type, radix: 16)) taken up as an append")
            }
            return .append(requestID: frame.requestID, started: started, try await submitAppend(request, connection: connection))
        } catch {
            return .ready(finish(
                type: frame.type, requestID: frame.requestID, .failure(error), started: started, connection: connection, logger: logger))
        }
    }

    /// The reply of a started request: at once when it is ready, after the commit (or failure)
    /// for a queued append.
    func reply(to request: StartedRequest, connection: ConnectionState, logger: Logger) async -> Reply {
        switch request {
        case .ready(let reply):
            return reply
        case let .append(requestID, started, queued):
            let outcome: Result<Message, any Error>
            do {
                outcome = .success(try await appended(queued))
            } catch {
                outcome = .failure(error)
            }
            return finish(
                type: MessageType.appendBlocks.rawValue, requestID: requestID, outcome, started: started,
                connection: connection, logger: logger)
        }
    }
}
