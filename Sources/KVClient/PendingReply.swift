import CoreTypes
import Protocol

/// A request that is already queued for writing, whose reply is awaited later.
///
/// Returned by ``KVClient/submit(_:)`` and ``KVClient/submitAppendBlocks(session:blocks:)``.
/// Those calls enqueue the frame *before they return*, so a request made afterwards on the same
/// client (for example the next chunk's `retrieve`) is written after it and, by the ordering
/// rule of docs/PROTOCOL.md §5, sees its effects. Awaiting ``value()`` is optional; a reply that
/// is never awaited is simply dropped.
public struct PendingReply<Value: Sendable>: Sendable {
    /// The request id used on the wire.
    public let requestID: UInt64
    let slot: ReplySlot
    let connection: Connection?
    let convert: @Sendable (Message) -> Result<Value, KVClientError>

    /// Waits for the reply. Cancelling the waiting task gives ``KVClientError/cancelled`` (the
    /// request itself is not withdrawn).
    public func value() async throws(KVClientError) -> Value {
        let outcome: Result<Message, KVClientError>
        if let connection {
            outcome = await connection.wait(id: requestID, slot: slot)
        } else {
            outcome = await slot.wait()
        }
        return try outcome.flatMap(convert).get()
    }
}

extension KVClient {
    /// Queues any request now and returns a handle to its reply (error replies are thrown by
    /// ``PendingReply/value()`` as ``KVClientError/server(_:)``). Never blocks and never
    /// reconnects: on a closed connection the handle fails with `connectionClosed`.
    public func submit(_ message: Message) -> PendingReply<Message> {
        let connection = currentConnection
        let (id, slot) = connection.enqueue(message)
        return PendingReply(requestID: id, slot: slot, connection: connection, convert: { .success($0) })
    }

    /// Queues an `appendBlocks` now and returns a handle to the appended ids: the worker's
    /// "append without waiting" step (docs/WORKER.md §"Per execution chunk"). Errors come back through the handle.
    public func submitAppendBlocks(session: String, blocks: [BlockRecord]) -> PendingReply<[BlockID]> {
        let count = blocks.count
        let convert: @Sendable (Message) -> Result<[BlockID], KVClientError> = { reply in
            guard case .appended(let appended) = reply else { return .failure(Self.unexpected(reply, for: .appendBlocks)) }
            guard appended.ids.count == count else {
                return .failure(.protocolViolation(ProtocolError(.malformedFrame, "\(appended.ids.count) ids for \(count) blocks")))
            }
            return .success(appended.ids)
        }
        let limit = server.maxBlocksPerRequest
        guard count <= Int(limit) else {
            let failure = KVClientError.invalidRequest(ProtocolError(.limitExceeded, "\(count) blocks exceed the server's limit \(limit)"))
            return PendingReply(requestID: 0, slot: ReplySlot(completed: .failure(failure)), connection: nil, convert: convert)
        }
        let connection = currentConnection
        let (id, slot) = connection.enqueue(.appendBlocks(AppendBlocks(session: session, blocks: blocks)))
        return PendingReply(requestID: id, slot: slot, connection: connection, convert: convert)
    }
}
