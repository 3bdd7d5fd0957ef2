/// Append-only, contiguous N×D Float32 storage of a (session, layer)'s representative keys.
///
/// Rows `0..<count` are never modified once published, so a reader that took a snapshot
/// `(table, count)` under the store's lock may read them without the lock while the writer
/// appends rows beyond `count`. When capacity runs out, the writer moves to a new, larger table
/// and the old one lives on as long as a reader still holds it.
final class KeyTable: @unchecked Sendable {
    let dimension: Int
    let capacity: Int
    private let storage: UnsafeMutablePointer<Float>

    init(dimension: Int, capacity: Int) {
        self.dimension = dimension
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity * max(dimension, 1))
    }

    deinit { storage.deallocate() }

    /// Row `i`.
    func row(_ i: Int) -> UnsafeMutablePointer<Float> { storage + i * dimension }

    /// Rows `0..<count` as a buffer.
    func rows(_ count: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: storage, count: count * dimension)
    }

    /// A table that holds at least `needed` rows, with the first `count` rows of this one:
    /// `self` when large enough, else a new table of (at least) double the capacity.
    func ensuring(capacity needed: Int, count: Int) -> KeyTable {
        if needed <= capacity { return self }
        let bigger = KeyTable(dimension: dimension, capacity: max(needed, capacity * 2))
        bigger.storage.update(from: storage, count: count * dimension)
        return bigger
    }

    /// A new table of at least `capacity` rows holding a copy of the first `count` rows.
    func copy(count: Int, capacity: Int) -> KeyTable {
        let t = KeyTable(dimension: dimension, capacity: max(count, capacity))
        t.storage.update(from: storage, count: count * dimension)
        return t
    }
}
