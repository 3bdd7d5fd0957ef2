import Foundation
import Synchronization

/// The shared insides of a ``KVStore``: LMDB, the in-memory mirror and the write queue. The
/// writer thread holds this (not the `KVStore`), so dropping the last `KVStore` reference can
/// shut everything down.
final class StoreCore: Sendable {
    let configuration: StoreConfiguration
    let lmdb: LMDBEnvironment
    let state: Mutex<StoreState>
    let queue = WriteQueue()
    let directoryLock: DirectoryLock

    init(configuration: StoreConfiguration, lmdb: LMDBEnvironment, state: StoreState, lock: DirectoryLock) {
        self.configuration = configuration
        self.directoryLock = lock
        self.lmdb = lmdb
        self.state = Mutex(state)
    }

    /// Current Unix time in seconds.
    static func now() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }

    /// Runs `body` inside a read transaction, counting it as an active reader so `close()`
    /// waits for it. Throws `.closed` once closing has begun.
    func withRead<R>(_ body: (Transaction) throws(StoreError) -> R) throws(StoreError) -> R {
        try enterReader()
        defer { leaveReader() }
        let txn = try lmdb.read()
        defer { txn.abort() }
        return try body(txn)
    }

    func enterReader() throws(StoreError) {
        let ok = state.withLock { s in
            if s.closing { return false }
            s.activeReaders += 1
            return true
        }
        guard ok else { throw .closed }
    }

    func leaveReader() {
        state.withLock { $0.activeReaders -= 1 }
    }

    /// Queues `operation` for the writer now (FIFO) and returns the handle of its result; a
    /// closing store completes it at once with `.closed`.
    func submit(_ operation: WriteOperation) -> PendingWrite {
        let pending = PendingWrite()
        let accepted = state.withLock { !$0.closing } && queue.submit(
            WriteRequest(operation: operation, complete: { pending.complete($0) }))
        if !accepted { pending.complete(.failure(.closed)) }
        return pending
    }

    /// Submits `operation` to the writer and waits for its commit.
    func write(_ operation: WriteOperation) async throws(StoreError) -> WriteOutcome {
        try await submit(operation).outcome().get()
    }
}
