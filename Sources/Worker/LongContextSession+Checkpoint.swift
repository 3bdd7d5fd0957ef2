import ActQKV
import CoreTypes
import KVClient
import LanguageModel
import Protocol

extension LongContextSession {
    /// Writes the session's checkpoint at the current chunk boundary: first waits until kvd
    /// acknowledged every appended block (so the checkpoint claims only stored blocks), then
    /// stores the worker state (``WorkerCheckpoint``) with `extra` (the caller's bytes); kvd keeps
    /// its retrieval state with it.
    public func checkpoint(extra: [UInt8] = []) async throws(LongContextError) {
        guard let client else { throw .configuration("method dense keeps no checkpoint (nothing is stored in kvd)") }
        try await drain()
        let state = WorkerCheckpoint(
            method: settings.method.rawValue, fingerprint: fingerprint, tokens: tokens, chunkSequence: chunkSequence, hasher: hasher,
            questionSpan: questionSpan, questionVectors: questionVectors, spanRotated: spanRotated,
            probe: probeState.encoded(), layers: memories.map { $0.encoded() }, windows: windows.compactMap { $0?.encoded() }, extra: extra
        ).encoded()
        do {
            try await client.putCheckpoint(session: sessionName, chunkSequence: chunkSequence, tokenCount: UInt64(position), workerState: state[...])
        } catch { throw .daemon(operation: "putCheckpoint", error) }
        counters.checkpoints += 1
        try await markSafePoint()
    }

    /// The safe point of run session `name`: a fork of it (blocks by reference, checkpoint slot
    /// copied) taken right after each checkpoint, so that it holds exactly the blocks the
    /// checkpoint covers.
    public static func safePointName(of name: String) -> String { name + "@checkpoint" }

    /// When ``safePoint`` is set, replaces it by a fork of this session as it is now (just after a
    /// checkpoint, every append acknowledged): drop the old one, fork with the checkpoint, close.
    /// A crash between the drop and the fork leaves no safe point, but then the session itself
    /// holds exactly its checkpoint's blocks (nothing is appended in between).
    func markSafePoint() async throws(LongContextError) {
        guard let client, let safe = safePoint else { return }
        do { try await client.dropSession(safe) } catch where error.code == .sessionNotFound {} catch {
            throw .daemon(operation: "dropSession \(safe)", error)
        }
        do { _ = try await client.forkSession(from: sessionName, to: safe, copyCheckpoint: true) } catch {
            throw .daemon(operation: "forkSession \(sessionName) → \(safe)", error)
        }
        do { try await client.closeSession(safe) } catch { throw .daemon(operation: "closeSession \(safe)", error) }
    }

    /// Makes run session `name` resumable again after a worker died past its last checkpoint:
    /// replaces it by a fork of its safe point (``safePointName(of:)``), which holds exactly the
    /// checkpoint's blocks, its checkpoint slot and kvd's retrieval state at that checkpoint.
    /// - Throws: ``LongContextError/blocksBeyondCheckpoint(session:stored:checkpoint:)`` (the
    ///   caller's `original`) when there is no safe point.
    static func restoreFromSafePoint(client: KVClient, sessionName name: String, original: LongContextError) async throws(LongContextError) {
        let safe = safePointName(of: name)
        do { _ = try await client.openSession(safe) } catch where error.code == .sessionNotFound { throw original } catch {
            throw .daemon(operation: "openSession \(safe)", error)
        }
        do { try await client.dropSession(name) } catch { throw .daemon(operation: "dropSession \(name)", error) }
        do { _ = try await client.forkSession(from: safe, to: name, copyCheckpoint: true) } catch {
            throw .daemon(operation: "forkSession \(safe) → \(name)", error)
        }
        do { try await client.closeSession(safe) } catch { throw .daemon(operation: "closeSession \(safe)", error) }
    }

    /// Continues the kvd session `sessionName` from its checkpoint: kvd rewinds its retrieval
    /// state to the checkpoint's, the worker restores its window, sink, remainder, statistics and
    /// question state. The block cache starts empty (payloads are fetched again as chosen).
    ///
    /// - Returns: the session and the caller's `extra` bytes stored with the checkpoint.
    /// - Throws: ``LongContextError/checkpointMismatch(_:)`` when the checkpoint belongs to another
    ///   model, method or configuration; ``LongContextError/blocksBeyondCheckpoint(session:stored:checkpoint:)``
    ///   when the session holds blocks beyond it (see ``restoreFromSafePoint(client:sessionName:original:)``).
    public static func resume(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient,
                              sessionName: String) async throws(LongContextError) -> (session: LongContextSession, extra: [UInt8]) {
        let info: SessionInfo
        do { info = try await client.openSession(sessionName) } catch { throw .daemon(operation: "openSession \(sessionName)", error) }
        // Checked before the checkpoint is read (reading it rewinds kvd's retrieval state).
        let expected = descriptor(model: model, settings: settings, fingerprint: fingerprint)
        guard info.descriptor == expected else {
            throw .checkpointMismatch("session \(sessionName) was stored by another model or block layout (\(info.descriptor), this one \(expected))")
        }
        let stored: Checkpoint
        do { stored = try await client.getCheckpoint(session: sessionName, restore: true) } catch {
            throw .daemon(operation: "getCheckpoint \(sessionName)", error)
        }
        let state: WorkerCheckpoint
        do { state = try WorkerCheckpoint(decoding: Array(stored.workerState)) } catch {
            throw .checkpointMismatch("worker state: \(error) (code \(error.code))")
        }
        let session = try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: sessionName)
        guard state.fingerprint == session.fingerprint else {
            throw .checkpointMismatch("the checkpoint was written for another model (fingerprint \(state.fingerprint), this one \(session.fingerprint))")
        }
        guard state.method == settings.method.rawValue else {
            throw .checkpointMismatch("the checkpoint was written by method \(RetrievalMethod(rawValue: state.method).map { "\($0)" } ?? "?"), not \(settings.method)")
        }
        guard state.layers.count == session.memories.count else { throw .checkpointMismatch("\(state.layers.count) layers in the checkpoint, model has \(session.memories.count)") }
        for (l, bytes) in state.layers.enumerated() {
            do { session.memories[l] = try LayerMemory(decoding: bytes, rope: session.rope) } catch {
                throw .checkpointMismatch("layer \(l): \(error)")
            }
            guard session.memories[l].config == settings.retrieval, session.memories[l].position == state.tokens.count else {
                throw .checkpointMismatch("layer \(l) was written with another configuration or position")
            }
        }
        let slidingLayers = session.windows.indices.filter { session.windows[$0] != nil }
        guard state.windows.count == slidingLayers.count else {
            throw .checkpointMismatch("\(state.windows.count) sliding windows in the checkpoint, model has \(slidingLayers.count)")
        }
        for (i, l) in slidingLayers.enumerated() {
            let window: SlidingWindowCache
            do { window = try SlidingWindowCache(decoding: state.windows[i], config: model.config, rope: model.ropes[l]) } catch {
                throw .checkpointMismatch("sliding window of layer \(l): \(error)")
            }
            guard window.window == session.windows[l]!.window, window.position == state.tokens.count else {
                throw .checkpointMismatch("sliding window of layer \(l) was written with another window or position")
            }
            session.windows[l] = window
        }
        do { session.probeState = try ProbeState(decoding: state.probe) } catch { throw .checkpointMismatch("probe state: \(error) (code \(error.code))") }
        guard state.questionVectors.count == session.memories.count else { throw .checkpointMismatch("question state has \(state.questionVectors.count) layers") }
        session.tokens = state.tokens
        session.chunkSequence = state.chunkSequence
        session.hasher = state.hasher
        session.questionSpan = state.questionSpan
        session.questionVectors = state.questionVectors
        session.spanRotated = state.spanRotated
        session.counters.reusedTokens = state.tokens.count
        let closed = session.closedBlocks
        if let extraBlocks = info.blockCounts.first(where: { Int($0) != closed }) {
            throw .blocksBeyondCheckpoint(session: sessionName, stored: Int(extraBlocks), checkpoint: closed)
        }
        return (session, state.extra)
    }
}
