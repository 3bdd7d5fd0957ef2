#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Admission of connections against the daemon's global limit and its limit per peer uid
/// (`--max-connections`, `--max-connections-per-uid`). Plain bookkeeping: the caller keeps it
/// under its own lock (``DaemonServer``'s listener state), admits each accepted connection
/// once and releases each admitted one exactly once.
struct ConnectionLimits: Sendable {
    /// Connections admitted at once, at most (≥ 1).
    let global: Int
    /// Connections of one uid admitted at once, at most (≥ 1).
    let perUID: Int
    /// Connections admitted and not yet released.
    private(set) var total = 0
    /// Admitted connections per peer uid; a uid without connections is absent.
    private(set) var byUID: [UInt32: Int] = [:]

    /// What ``admit(uid:)`` decided.
    enum Admission: Sendable, Equatable {
        case admitted
        /// `global` connections are open.
        case globalLimitReached
        /// `perUID` connections of this uid are open.
        case uidLimitReached
    }

    init(global: Int, perUID: Int) {
        precondition(global >= 1 && perUID >= 1, "connection limits are at least 1")
        self.global = global
        self.perUID = perUID
    }

    /// Counts a new connection of `uid` when both limits allow it.
    mutating func admit(uid: UInt32) -> Admission {
        guard total < global else { return .globalLimitReached }
        let ofUID = byUID[uid, default: 0]
        guard ofUID < perUID else { return .uidLimitReached }
        total += 1
        byUID[uid] = ofUID + 1
        return .admitted
    }

    /// Forgets a connection of `uid` that ``admit(uid:)`` admitted.
    mutating func release(uid: UInt32) {
        guard let ofUID = byUID[uid], ofUID > 0 else {
            assertionFailure("released a connection of uid \(uid) that was not admitted")
            return
        }
        total -= 1
        byUID[uid] = ofUID == 1 ? nil : ofUID - 1
    }

    // MARK: - File descriptors

    /// Descriptors kept for everything but client connections: the store (LMDB data and lock
    /// files, the directory lock), the listener, the metrics endpoint and its connections,
    /// event-loop internals, standard streams.
    static let reservedDescriptors = 64

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit (it is never lowered) and returns the
    /// soft limit in force afterwards: the number of descriptors the process may hold.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
    }

    /// The global connection limit that `descriptorLimit` descriptors can honour: `requested`,
    /// or fewer when `descriptorLimit` − ``reservedDescriptors`` is smaller (at least 1).
    static func fitting(requested: Int, descriptorLimit: Int) -> Int {
        max(1, min(requested, descriptorLimit - reservedDescriptors))
    }
}
