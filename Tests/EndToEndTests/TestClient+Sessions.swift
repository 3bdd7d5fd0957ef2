import CoreTypes
import Protocol

extension TestClient {
    @discardableResult
    func createSession(_ name: String, _ descriptor: ModelDescriptor) throws -> SessionInfo {
        guard case .sessionInfo(let info) = try call(.createSession(CreateSession(name: name, descriptor: descriptor))) else {
            throw HarnessError("createSession: unexpected reply")
        }
        return info
    }

    @discardableResult
    func openSession(_ name: String) throws -> SessionInfo {
        guard case .sessionInfo(let info) = try call(.openSession(SessionRequest(name: name))) else {
            throw HarnessError("openSession: unexpected reply")
        }
        return info
    }

    @discardableResult
    func append(_ session: String, _ blocks: [BlockRecord]) throws -> [BlockID] {
        guard case .appended(let appended) = try call(.appendBlocks(AppendBlocks(session: session, blocks: blocks))) else {
            throw HarnessError("appendBlocks: unexpected reply")
        }
        return appended.ids
    }

    /// Every block of `layer` with its payload, in position order (method `dense`).
    func allBlocks(_ session: String, layer: Int, dimension: Int) throws -> [(position: UInt32, id: BlockID, payload: [UInt8])] {
        let request = RetrieveRequest(
            session: session, layer: UInt16(layer), method: .dense, mode: .decode, chunkSequence: 0,
            probe: [Float](repeating: 0.5, count: dimension), wantPayloads: true)
        guard case .retrieved(let result) = try call(.retrieve(request)) else {
            throw HarnessError("retrieve: unexpected reply")
        }
        var payloads: [Int: [UInt8]] = [:]
        for p in result.payloads { payloads[Int(p.index)] = Array(p.payload) }
        return result.chosen.enumerated()
            .map { (position: $1.position, id: $1.id, payload: payloads[$0] ?? []) }
            .sorted { $0.position < $1.position }
    }

    func retrieve(_ request: RetrieveRequest) throws -> RetrieveResult {
        guard case .retrieved(let result) = try call(.retrieve(request)) else {
            throw HarnessError("retrieve: unexpected reply")
        }
        return result
    }
}

/// Expects `body` to fail with a typed error reply of `code`.
func expectError(_ code: ErrorCode, _ body: () throws -> Message) throws -> Bool {
    do {
        _ = try body()
        return false
    } catch let error as ProtocolError {
        return error.code == code
    }
}
