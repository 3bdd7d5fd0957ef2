import CoreTypes
import Dispatch
import Foundation
import Synchronization

/// A Redis Cluster client: routes each command to the master of its key's hash slot, follows
/// `MOVED` (updating its slot map) and `ASK` (one `ASKING` + command at the importing node),
/// refreshes the map from `CLUSTER SLOTS` when a node fails or a redirection shows it stale,
/// and retries what a failover explains until ``RedisClusterConfiguration/retryTimeout``.
///
/// What is hiredis's and what is this module's: hiredis (Debian's libhiredis-dev 0.14) formats
/// commands and parses replies; the sockets, the connection pool, the slot map and the routing,
/// redirections, retries and replication checks are written here (hiredis has no cluster
/// support; hiredis-cluster is not packaged in Debian).
///
/// Commands run on threads of the client's own (a serial Dispatch queue per call and per node,
/// which get threads even when Dispatch's shared pool is busy), never on the caller's: every
/// method is `async` and the blocking I/O happens elsewhere. Thread-safe; connections are
/// pooled per node (``RedisClusterConfiguration/maxIdleConnectionsPerNode``).
///
/// Only use it for commands that may be repeated: a command whose connection failed after it
/// was written is sent again (the tier writes content-addressed values with `SET`).
public final class RedisCluster: Sendable {
    public let configuration: RedisClusterConfiguration
    private let state = Mutex(State())
    private let counters = Mutex(RedisClusterStats())
    private let tls: TLSContext?

    private struct State: ~Copyable {
        var topology: ClusterTopology? = nil
        var lastRefresh: ContinuousClock.Instant? = nil
        var idle: [RedisEndpoint: [RedisConnection]] = [:]
        /// Connections checked out for a round trip (interrupted by ``close()``).
        var busy: [ObjectIdentifier: RedisConnection] = [:]
        var closed = false
    }

    /// Creates a client; nothing connects until the first command (or ``refreshTopology()``).
    /// Throws ``RedisError/invalidAddress(_:)`` for an empty seed list and
    /// ``RedisError/tls(endpoint:reason:)`` for TLS files that cannot be used.
    public init(configuration: RedisClusterConfiguration) throws(RedisError) {
        guard !configuration.seeds.isEmpty else { throw .invalidAddress("") }
        self.configuration = configuration
        tls = try configuration.tls.map { (tls) throws(RedisError) in try TLSContext(tls) }
    }

    deinit { close() }

    /// Closes every pooled connection and interrupts the round trips in progress; their
    /// commands and later ones fail with ``RedisError/closed``.
    public func close() {
        let (idle, busy) = state.withLock { state in
            state.closed = true
            defer { state.idle = [:] }
            return (state.idle, Array(state.busy.values))
        }
        for connection in idle.values.joined() { connection.close() }
        for connection in busy { connection.interrupt() }
    }

    /// Counters since the client was created.
    public func stats() -> RedisClusterStats { counters.withLock { $0 } }

    /// The masters in the current slot map (empty before the first refresh).
    public var masters: [RedisEndpoint] {
        state.withLock { state in
            guard let topology = state.topology else { return [] }
            var seen = Set<RedisEndpoint>()
            return topology.masters.compactMap { $0 }.filter { seen.insert($0).inserted }
        }
    }

    /// The master serving `slot` in the current slot map (nil before the first refresh or when
    /// no master serves it).
    public func master(servingSlot slot: Int) -> RedisEndpoint? {
        state.withLock { $0.topology?.masters[slot] }
    }

    /// Asks the known nodes, then the seeds, for the slot map, and keeps the first that covers
    /// every slot (else the one covering most). Throws ``RedisError/topologyUnavailable(reason:)``
    /// when none answers; an authentication failure is thrown as such.
    public func refreshTopology() async throws(RedisError) {
        try await onQueue { () throws(RedisError) in try self.refresh(force: true) }
    }

    /// Sends one command to its slot's master and returns the reply. An error reply that is
    /// the command's own (e.g. `WRONGTYPE`) throws ``RedisError/server(message:)``.
    /// `retryTimeout`: this call's budget for retrying transient errors (default the
    /// configuration's).
    public func send(_ command: RedisCommand, retryTimeout: Duration? = nil) async throws(RedisError) -> RedisReply {
        try await pipeline([command], replicas: 0, retryTimeout: retryTimeout)[0].get()
    }

    /// Sends `commands`, pipelined per node and the nodes in parallel, and returns one result
    /// per command in order. With `replicas` > 0 each node's batch ends with `WAIT replicas`,
    /// and a command succeeds only when that many replicas hold the node's writes (its replies
    /// are returned then): what succeeded survives the master's failover. A master with fewer
    /// replicas (one a failover left alone) fails its commands with
    /// ``RedisError/notReplicated(endpoint:acknowledged:required:)`` once the retry budget is
    /// spent. Commands of one node run in order; commands of different nodes do not.
    /// `retryTimeout`: this call's budget for retrying transient errors (default the
    /// configuration's; a reader that has a fallback gives a short one).
    public func pipeline(
        _ commands: [RedisCommand], replicas: Int = 0, retryTimeout: Duration? = nil
    ) async -> [Result<RedisReply, RedisError>] {
        let budget = retryTimeout ?? configuration.retryTimeout
        return await onQueue { self.execute(commands, replicas: replicas, retryTimeout: budget) }
    }

    // MARK: - Blocking internals (each call on a thread of its own)

    /// Runs `body`, which blocks on sockets, on a serial queue of its own. A serial queue gets a
    /// thread even when every thread of Dispatch's shared pool is busy (it "overcommits"); a
    /// concurrent queue would wait for one, so calls stuck on a hung node — each up to its
    /// budget — would hold back every other call in the process and any other Dispatch work.
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: "redis-cluster.call").async { continuation.resume(returning: body()) }
        }
    }

    private func onQueue(_ body: @escaping @Sendable () throws(RedisError) -> Void) async throws(RedisError) {
        let result: Result<Void, RedisError> = await onQueue {
            do throws(RedisError) {
                try body()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Results that threads of their own fill in, one slot each.
    private final class Slots<Value: Sendable>: Sendable {
        let values: Mutex<[Value?]>
        init(count: Int) { values = Mutex([Value?](repeating: nil, count: count)) }
    }

    /// One round trip's outcome on one node.
    private enum BatchOutcome: Sendable {
        case failed(RedisError)
        case replied([RedisReply], replicated: Int?)
    }

    private func execute(
        _ commands: [RedisCommand], replicas required: Int, retryTimeout: Duration
    ) -> [Result<RedisReply, RedisError>] {
        var results = [Result<RedisReply, RedisError>?](repeating: nil, count: commands.count)
        var lastError = [RedisError?](repeating: nil, count: commands.count)
        var asks: [Int: RedisEndpoint] = [:]
        var redirections = [Int](repeating: 0, count: commands.count)
        let deadline = ContinuousClock.now + retryTimeout
        var pause = Duration.milliseconds(20)
        var attempt = 0
        while true {
            if state.withLock({ $0.closed }) {
                return results.map { $0 ?? .failure(.closed) }
            }
            let pending = results.indices.filter { results[$0] == nil }
            if pending.isEmpty { break }
            if attempt > 0 { counters.withLock { $0.retries += UInt64(pending.count) } }
            attempt += 1
            var transient = false
            var stale = false

            // Route.
            if state.withLock({ $0.topology == nil }) {
                do throws(RedisError) {
                    try refresh(force: false, until: deadline)
                } catch {
                    if !error.isTransient { return results.map { $0 ?? .failure(error) } }
                    for index in pending { lastError[index] = error }
                    transient = true
                }
            }
            var groups: [RedisEndpoint: [Int]] = [:]
            if let topology = state.withLock({ $0.topology }) {
                let anyMaster = topology.masters.lazy.compactMap { $0 }.first
                for index in pending {
                    if let target = asks[index] {
                        groups[target, default: []].append(index)
                    } else if let slot = commands[index].slot {
                        if let master = topology.masters[slot] {
                            groups[master, default: []].append(index)
                        } else {
                            lastError[index] = .clusterDown(message: "no master serves slot \(slot)")
                            transient = true
                        }
                    } else if let anyMaster {
                        groups[anyMaster, default: []].append(index)
                    } else {
                        lastError[index] = .clusterDown(message: "no master in the slot map")
                        transient = true
                    }
                }
            }

            // Send each node's batch, the nodes in parallel.
            let targets = Array(groups.keys)
            let batches = targets.map { groups[$0]!.map { (command: commands[$0], asked: asks[$0] != nil) } }
            let outcomes = Slots<BatchOutcome>(count: targets.count)
            let group = DispatchGroup()
            for t in targets.indices {
                // One serial queue per node, for the reason of `onQueue`.
                DispatchQueue(label: "redis-cluster.node").async(group: group) {
                    let outcome = self.roundTrip(targets[t], batches[t], replicas: required, until: deadline)
                    outcomes.values.withLock { $0[t] = outcome }
                }
            }
            group.wait()
            asks = [:]

            // Classify the replies.
            for (t, outcome) in outcomes.values.withLock({ $0 }).enumerated() {
                let endpoint = targets[t], indices = groups[endpoint]!
                switch outcome! {
                case .failed(let error):
                    for index in indices {
                        if error.isTransient { lastError[index] = error } else { results[index] = .failure(error) }
                    }
                    transient = transient || error.isTransient
                    stale = true
                case .replied(let replies, let replicated):
                    for (index, reply) in zip(indices, replies) {
                        guard case .error(let message) = reply else {
                            if let replicated, replicated < required {
                                lastError[index] = .notReplicated(endpoint: endpoint, acknowledged: replicated, required: required)
                                transient = true
                            } else {
                                results[index] = .success(reply)
                            }
                            continue
                        }
                        switch ClusterErrorReply(message) {
                        case .moved(let slot, let to):
                            redirections[index] += 1
                            counters.withLock { $0.redirections += 1 }
                            state.withLock { $0.topology?.masters[slot] = to }
                            stale = true
                        case .ask(_, let to):
                            redirections[index] += 1
                            counters.withLock { $0.redirections += 1 }
                            asks[index] = to
                        case .transient(let text):
                            lastError[index] = .clusterDown(message: text)
                            transient = true
                        case .auth(let text):
                            results[index] = .failure(.authenticationFailed(endpoint: endpoint, message: text))
                        case .other(let text):
                            results[index] = .failure(.server(message: text))
                        }
                        if results[index] == nil, redirections[index] > configuration.maxRedirections {
                            results[index] = .failure(.tooManyRedirections(command: commands[index].name))
                        }
                    }
                }
            }
            if results.allSatisfy({ $0 != nil }) { break }
            if transient {
                guard ContinuousClock.now + pause < deadline else {
                    for index in results.indices where results[index] == nil {
                        results[index] = .failure(lastError[index] ?? .clusterDown(message: "retry budget spent"))
                    }
                    break
                }
                Thread.sleep(forTimeInterval: pause.seconds)
                pause = min(pause * 2, .seconds(1))
            }
            if stale || transient { try? refresh(force: transient, until: deadline) }
        }
        let failures = results.reduce(0) { if case .failure = $1 { $0 + 1 } else { $0 } }
        counters.withLock { $0.failedCommands += UInt64(failures) }
        return results.map { $0! }
    }

    /// Writes one batch to `endpoint` (each asked command preceded by `ASKING`, then `WAIT`
    /// when `replicas` > 0) and returns the commands' own replies; connecting and the round trip
    /// end by `deadline` at the latest.
    private func roundTrip(
        _ endpoint: RedisEndpoint, _ batch: [(command: RedisCommand, asked: Bool)], replicas: Int, until deadline: ContinuousClock.Instant
    ) -> BatchOutcome {
        var wire: [RedisCommand] = []
        wire.reserveCapacity(batch.count + 1)
        for (command, asked) in batch {
            if asked { wire.append(.asking) }
            wire.append(command)
        }
        if replicas > 0 {
            wire.append(RedisCommand(["WAIT", String(replicas), String(configuration.replicationTimeout.wholeMilliseconds)], keyIndex: nil))
        }
        let connection: RedisConnection
        do throws(RedisError) {
            connection = try checkOut(endpoint, until: deadline)
        } catch {
            return .failed(error)
        }
        let before = (connection.bytesWritten, connection.bytesRead)
        let replies: [RedisReply]
        do throws(RedisError) {
            replies = try connection.send(wire, until: deadline)
        } catch {
            counters.withLock { $0.roundTrips += 1; $0.commands += UInt64(batch.count) }
            checkIn(connection)
            return .failed(state.withLock { $0.closed } ? .closed : error)
        }
        counters.withLock {
            $0.roundTrips += 1
            $0.commands += UInt64(batch.count)
            $0.bytesSent += UInt64(connection.bytesWritten - before.0)
            $0.bytesReceived += UInt64(connection.bytesRead - before.1)
        }
        checkIn(connection)
        var own: [RedisReply] = []
        own.reserveCapacity(batch.count)
        var position = 0
        for (_, asked) in batch {
            if asked { position += 1 }  // ASKING's +OK
            own.append(replies[position])
            position += 1
        }
        guard replicas > 0 else { return .replied(own, replicated: nil) }
        guard case .integer(let count) = replies[position] else {
            return .failed(.unexpectedReply("WAIT answered \(replies[position])"))
        }
        return .replied(own, replicated: Int(count))
    }

    /// A pooled connection to `endpoint`, or a new one connected within the connect timeout or
    /// by `deadline` when that comes first.
    private func checkOut(_ endpoint: RedisEndpoint, until deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RedisConnection {
        let pooled: RedisConnection?? = state.withLock { state in
            if state.closed { return .some(nil) }
            return state.idle[endpoint]?.popLast().map { .some($0) } ?? nil
        }
        let connection: RedisConnection
        switch pooled {
        case .some(.none): throw .closed
        case .some(.some(let pooled)): connection = pooled
        case .none:
            let connectTimeout = deadline.map { min(configuration.connectTimeout, $0 - ContinuousClock.now) } ?? configuration.connectTimeout
            connection = try RedisConnection(
                endpoint: endpoint, tls: tls, connectTimeout: connectTimeout, commandTimeout: configuration.commandTimeout,
                username: configuration.username, password: configuration.password)
            counters.withLock { $0.connectionsOpened += 1 }
        }
        let closed = state.withLock { state in
            if !state.closed { state.busy[ObjectIdentifier(connection)] = connection }
            return state.closed
        }
        if closed {
            connection.close()
            throw .closed
        }
        return connection
    }

    /// Returns a checked-out connection to the pool, or closes it (broken, pool full, closed).
    private func checkIn(_ connection: RedisConnection) {
        let kept = state.withLock { state in
            state.busy[ObjectIdentifier(connection)] = nil
            guard !state.closed, !connection.isBroken, state.idle[connection.endpoint, default: []].count < configuration.maxIdleConnectionsPerNode else {
                return false
            }
            state.idle[connection.endpoint, default: []].append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    /// Replaces the slot map by the first full one a node gives (known nodes first, then the
    /// seeds); unless `force`, at most once per 100 ms. Ends by `deadline` (each node asked
    /// costs up to a connect and a command timeout when it hangs, cut at the deadline).
    private func refresh(force: Bool, until deadline: ContinuousClock.Instant? = nil) throws(RedisError) {
        let (known, recent) = state.withLock { state in
            (state.topology?.nodes ?? [], state.lastRefresh.map { ContinuousClock.now - $0 < .milliseconds(100) } ?? false)
        }
        if recent && !force { return }
        var candidates = known
        for seed in configuration.seeds where !candidates.contains(seed) { candidates.append(seed) }
        var best: ClusterTopology? = nil
        var failures: [String] = []
        for endpoint in candidates {
            if let deadline, ContinuousClock.now >= deadline, !failures.isEmpty { break }
            do throws(RedisError) {
                let connection = try checkOut(endpoint, until: deadline)
                defer { checkIn(connection) }
                let reply = try connection.send([RedisCommand(["CLUSTER", "SLOTS"], keyIndex: nil)], until: deadline)[0]
                if case .error(let message) = reply {
                    if case .auth = ClusterErrorReply(message) { throw RedisError.authenticationFailed(endpoint: endpoint, message: message) }
                    failures.append("\(endpoint): \(message)")
                    continue
                }
                let topology = try ClusterTopology(clusterSlots: reply, source: endpoint)
                if topology.coveredSlots > best?.coveredSlots ?? -1 { best = topology }
                if topology.coveredSlots == HashSlot.count { break }
            } catch {
                if case .authenticationFailed = error { throw error }
                if case .tls = error { throw error }
                if case .closed = error { throw error }
                failures.append("\(endpoint): \(error)")
            }
        }
        counters.withLock { $0.topologyRefreshes += 1 }
        guard let best, best.coveredSlots > 0 else {
            throw .topologyUnavailable(reason: failures.isEmpty ? "no node answered" : failures.joined(separator: "; "))
        }
        let gone: [RedisConnection] = state.withLock { state in
            state.topology = best
            state.lastRefresh = .now
            let nodes = Set(best.nodes)
            var gone: [RedisConnection] = []
            for endpoint in state.idle.keys where !nodes.contains(endpoint) {
                gone += state.idle.removeValue(forKey: endpoint) ?? []
            }
            return gone
        }
        for connection in gone { connection.close() }
    }
}

/// Counters of a ``RedisCluster`` client since it was created.
public struct RedisClusterStats: Sendable, Equatable {
    /// Commands written (each attempt counted; `ASKING` and `WAIT` not).
    public var commands: UInt64 = 0
    /// Batches written to a node and answered or failed.
    public var roundTrips: UInt64 = 0
    /// RESP bytes written and read.
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    /// `MOVED` and `ASK` replies followed.
    public var redirections: UInt64 = 0
    /// `CLUSTER SLOTS` refreshes.
    public var topologyRefreshes: UInt64 = 0
    /// Commands sent again after a transient failure.
    public var retries: UInt64 = 0
    /// Commands whose result was a failure.
    public var failedCommands: UInt64 = 0
    /// Connections opened.
    public var connectionsOpened: UInt64 = 0

    public init() {}
}
