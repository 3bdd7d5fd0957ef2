import Foundation
import KVClient
import LanguageModel
import Synchronization

/// The in-process tier of the prompt cache (`actqkv serve`): for the last cache points of recent
/// runs, a *standby* — a kvd session already forked from the stored point and resumed into a
/// ``LongContextSession`` — so that the next request from such a point starts computing at once
/// instead of forking and resuming first (docs/SERVER.md §"Where a cached request's time goes").
///
/// A run takes the standby of the longest point it can (it becomes the run's session, dropped at
/// the end like any run session) and, once its prompt is processed, asks for standbys of its last
/// two points; they are prepared in the background (fork + resume, the same steps as without a
/// standby, so a run from a standby computes exactly what it would have computed). At most
/// ``capacity`` standbys are kept; the least recently prepared is dropped first, with its kvd
/// session. Standbys belong to one kvd connection: ``discard(client:)`` forgets them when it is
/// lost.
public final class PromptStandbys: Sendable {
    /// Standbys kept at most (0: none are prepared).
    public let capacity: Int

    /// A resumed session handed from the task that prepared it to the one run that takes it.
    private final class Standby: @unchecked Sendable {
        let session: LongContextSession
        init(_ session: LongContextSession) { self.session = session }
    }

    private struct State {
        /// Ready standbys by point session name, oldest first.
        var ready: [(point: String, standby: Standby)] = []
        /// Points being prepared, and the tasks preparing them.
        var preparing: [String: Task<Void, Never>] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init(capacity: Int) { self.capacity = capacity }

    /// The standby of stored point `point` on `client`, removed from the table; nil when none is ready.
    func take(point: String, client: KVClient) -> LongContextSession? {
        let standby: Standby? = state.withLock { s in
            guard let i = s.ready.firstIndex(where: { $0.point == point }) else { return nil }
            return s.ready.remove(at: i).standby
        }
        guard let standby, standby.session.client === client else { return nil }
        return standby.session
    }

    /// Prepares, in the background, a standby for each stored point in `points` (session names)
    /// that has none ready or in preparation.
    func prepare(points: [String], model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient) {
        guard capacity > 0 else { return }
        for point in points {
            state.withLock { s in
                guard !s.closed, s.preparing[point] == nil, !s.ready.contains(where: { $0.point == point }) else { return }
                s.preparing[point] = Task { [self] in
                    let prepared = await Self.standby(of: point, model: model, settings: settings, fingerprint: fingerprint, client: client)
                    let dropped: [Standby] = state.withLock { s in
                        s.preparing[point] = nil
                        guard let prepared else { return [] }
                        if s.closed { return [prepared] }
                        s.ready.append((point, prepared))
                        let excess = max(0, s.ready.count - capacity)
                        defer { s.ready.removeFirst(excess) }
                        return s.ready.prefix(excess).map(\.standby)
                    }
                    for d in dropped { try? await d.session.client?.dropSession(d.session.sessionName) }
                }
            }
        }
    }

    /// Forgets the standbys of `client` (a lost connection: their sessions cannot be dropped through it).
    public func discard(client: KVClient) {
        state.withLock { s in s.ready.removeAll { $0.standby.session.client === client } }
    }

    /// Waits for the standbys in preparation, then drops every standby's kvd session; no new one
    /// is prepared afterwards.
    public func close() async {
        let tasks = state.withLock { s in
            s.closed = true
            return Array(s.preparing.values)
        }
        for t in tasks { await t.value }
        let ready = state.withLock { s in
            defer { s.ready = [] }
            return s.ready.map(\.standby)
        }
        for r in ready { try? await r.session.client?.dropSession(r.session.sessionName) }
    }

    /// Standbys ready now (diagnostics and tests).
    public var readyCount: Int { state.withLock { $0.ready.count } }

    /// Returns once no standby is in preparation.
    public func settle() async {
        while true {
            let tasks = state.withLock { Array($0.preparing.values) }
            if tasks.isEmpty { return }
            for t in tasks { await t.value }
        }
    }

    /// Fork `point` into a new session and resume it; nil when the point is gone (evicted) or kvd fails.
    private static func standby(of point: String, model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64,
                                client: KVClient) async -> Standby? {
        let name = "actqkv-standby-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            _ = try await client.forkSession(from: point, to: name, copyCheckpoint: true)
        } catch {
            return nil
        }
        do {
            return Standby(try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint, client: client,
                                                               sessionName: name).session)
        } catch {
            try? await client.dropSession(name)
            return nil
        }
    }
}
