import CoreTypes
import Protocol

/// Block calls: append, retrieve, fetch (docs/PROTOCOL.md §6.3).
extension KVClient {
    /// Appends closed blocks (any layers, each at the next free position of its layer) and
    /// returns their ids in request order.
    /// - Throws: `.invalidRequest` with `limitExceeded` for more than the server's
    ///   `maxBlocksPerRequest` blocks (nothing is sent); `.server` with `wrongDimensions`,
    ///   `badPosition`, `storageFull`, …
    public func appendBlocks(session: String, blocks: [BlockRecord]) async throws(KVClientError) -> [BlockID] {
        let limit = server.maxBlocksPerRequest
        guard blocks.count <= Int(limit) else {
            throw .invalidRequest(ProtocolError(.limitExceeded, "\(blocks.count) blocks exceed the server's limit \(limit)"))
        }
        let reply = try await send(.appendBlocks(AppendBlocks(session: session, blocks: blocks)))
        guard case .appended(let appended) = reply else { throw Self.unexpected(reply, for: .appendBlocks) }
        guard appended.ids.count == blocks.count else {
            throw .protocolViolation(ProtocolError(.malformedFrame, "\(appended.ids.count) ids for \(blocks.count) blocks"))
        }
        return appended.ids
    }

    /// Scores one layer's blocks against the request's probe and returns the chosen ids, the
    /// allocation statistics and the payloads of chosen blocks not in `request.heldIDs`.
    public func retrieve(_ request: RetrieveRequest) async throws(KVClientError) -> RetrieveResult {
        let reply = try await send(.retrieve(request))
        guard case .retrieved(let result) = reply else { throw Self.unexpected(reply, for: .retrieve) }
        return result
    }

    /// Fetches stored blocks of `session` by id, in request order.
    /// - Throws: `.server` with `blockNotFound`, …
    public func fetchBlocks(session: String, ids: [BlockID]) async throws(KVClientError) -> [StoredBlock] {
        let limit = server.maxBlocksPerRequest
        guard ids.count <= Int(limit) else {
            throw .invalidRequest(ProtocolError(.limitExceeded, "\(ids.count) ids exceed the server's limit \(limit)"))
        }
        let reply = try await send(.fetchBlocks(FetchBlocks(session: session, ids: ids)))
        guard case .blocks(let fetched) = reply else { throw Self.unexpected(reply, for: .fetchBlocks) }
        return fetched.blocks
    }
}
