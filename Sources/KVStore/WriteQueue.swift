import CoreTypes
import Foundation

/// One block of an append, validated and encoded by the caller before it reaches the writer.
struct PreparedBlock: Sendable {
    var layer: Int
    var position: Int
    var id: BlockID
    /// The prefix hash the id was derived from (kept in the block's metadata).
    var prefixHash: PrefixHash
    var key: [Float]
    /// The encoded payload (codec header ‖ body).
    var stored: [UInt8]
    var rawLength: Int
    var checksum: UInt32
}

/// A mutation for the writer thread.
enum WriteOperation: Sendable {
    case create(name: String, owner: UInt32, descriptor: ModelDescriptor)
    case drop(name: String)
    case fork(source: String, name: String, owner: UInt32, blocksPerLayer: Int)
    /// `namespace`: the owner namespace the ids were derived in (re-checked at commit).
    case append(session: String, descriptor: ModelDescriptor, namespace: UInt32, blocks: [PreparedBlock])
    case checkpoint(session: String, bytes: [UInt8])
    /// Renames sessions (each `from` → `to`), all or nothing.
    case rename([(from: String, to: String)])
    /// Persists in-memory use marks (`touch`).
    case persistUse([String: UseMark])
    /// Removes blocks from the upload queue (those absent are skipped).
    case uploaded([BlockID])
    /// Marks a session for publication (a new mark replaces the previous one).
    case markForPublication(String)
    /// Removes a session's publication mark if it is still `mark`.
    case published(session: String, mark: UInt64)
    /// Creates a session from what the shared tier holds of it: blocks already stored are
    /// referenced, the others recorded as remote (no payload); `namespace` is the one the
    /// blocks were written in.
    case materialize(SessionSnapshot, namespace: UInt32)
    /// Stores payloads fetched from the shared tier for remote blocks (others are skipped),
    /// making room as an append of `session` would.
    case pulled(session: String, payloads: [(id: BlockID, stored: [UInt8])])
}

/// A session's in-memory use mark: `lastUsed` seconds and its position in the use order.
struct UseMark: Sendable {
    var lastUsed: UInt64
    var sequence: UInt64
}

/// What a completed write returns.
enum WriteOutcome: Sendable {
    case record(SessionRecord)
    case ids([BlockID])
    case done
}

/// A queued write and whom to tell when it is committed (or failed).
struct WriteRequest: Sendable {
    var operation: WriteOperation
    var complete: @Sendable (Result<WriteOutcome, StoreError>) -> Void

    /// Bytes this request writes, roughly (payloads and checkpoints); bounds a group commit.
    var weight: Int {
        switch operation {
        case let .append(_, _, _, blocks): blocks.reduce(0) { $0 + $1.stored.count + 4 * $1.key.count + 64 }
        case let .checkpoint(_, bytes): bytes.count
        case let .materialize(snapshot, _):
            (snapshot.checkpoint?.count ?? 0) + snapshot.layers.reduce(0) { $0 + $1.reduce(0) { $0 + 4 * $1.key.count + 64 } }
        case let .pulled(_, payloads): payloads.reduce(0) { $0 + $1.stored.count + 64 }
        default: 64
        }
    }
}

/// The queue between callers and the writer thread (FIFO; a close marker ends it).
final class WriteQueue: @unchecked Sendable {
    enum Item {
        case request(WriteRequest)
        case close(@Sendable () -> Void)
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false

    private var submittedTotal = 0

    /// Requests ever accepted by ``submit(_:)``.
    var submitted: Int {
        condition.lock()
        defer { condition.unlock() }
        return submittedTotal
    }

    /// Enqueues `request`; false if the queue was closed (then `request` is not run).
    func submit(_ request: WriteRequest) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        items.append(.request(request))
        submittedTotal += 1
        condition.signal()
        return true
    }

    /// Enqueues the close marker: requests before it are still committed, later ones fail with
    /// `.closed`. `done` runs on the writer thread when everything is synced.
    func close(_ done: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        if !closed {
            closed = true
        }
        items.append(.close(done))
        condition.signal()
    }

    /// Waits until something is queued, then takes up to `limit` requests and at most
    /// `byteLimit` bytes of them (but always at least one), stopping at a close marker, which is
    /// returned separately.
    func take(limit: Int, byteLimit: Int) -> (requests: [WriteRequest], close: (@Sendable () -> Void)?) {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        var requests: [WriteRequest] = []
        var taken = 0
        var marker: (@Sendable () -> Void)?
        var bytes = 0
        for item in items {
            if requests.count >= limit { break }
            if case let .request(r) = item, !requests.isEmpty, bytes + r.weight > byteLimit { break }
            taken += 1
            switch item {
            case let .request(r):
                requests.append(r)
                bytes += r.weight
            case let .close(done): marker = done
            }
            if marker != nil { break }
        }
        items.removeFirst(taken)
        if marker != nil {
            // Requests queued after the marker can no longer be served.
            for item in items {
                switch item {
                case let .request(r): r.complete(.failure(.closed))
                case let .close(done): done()
                }
            }
            items.removeAll()
        }
        return (requests, marker)
    }
}
