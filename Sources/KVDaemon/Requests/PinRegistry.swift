import Synchronization

/// How many connections hold each session open. The store is asked to pin a session when the
/// first connection opens it and to unpin it when the last one closes it, so a session held by
/// any connection is never evicted.
final class PinRegistry: Sendable {
    private let holders = Mutex([String: Int]())

    /// Adds a holder; true when it is the first (the caller then pins in the store).
    func acquire(_ name: String) -> Bool {
        holders.withLock { map in
            map[name, default: 0] += 1
            return map[name] == 1
        }
    }

    /// Removes a holder; true when it was the last (the caller then unpins in the store).
    func release(_ name: String) -> Bool {
        holders.withLock { map in
            guard let count = map[name] else { return false }
            if count <= 1 {
                map.removeValue(forKey: name)
                return true
            }
            map[name] = count - 1
            return false
        }
    }

    /// Number of connections holding `name` open.
    func holderCount(_ name: String) -> Int { holders.withLock { $0[name] ?? 0 } }
}
