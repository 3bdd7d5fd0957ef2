import CoreTypes
import Synchronization

/// The in-memory mirror of the committed store, guarded by ``StoreCore/state``. Only the
/// writer thread changes sessions and totals (after its commit); pins and use marks change from
/// any thread.
struct StoreState {
    /// One layer of a session: block ids in position order and their representative keys.
    struct Layer {
        var ids: [BlockID] = []
        /// Rows `0..<ids.count` are this layer's keys.
        var table: KeyTable
        /// Whether this layer may write rows into `table`. A fork starts by sharing its source's
        /// table (its rows `0..<n` are immutable), and copies it before its first own append;
        /// the source keeps writing only rows at and beyond its own count, which a fork never
        /// reads.
        var ownsTable = true
    }

    /// One session.
    struct Session {
        var id: UInt64
        var record: SessionRecord
        var layers: [Layer]
        var pins = 0
        /// LRU order: larger is more recent.
        var useTick: UInt64 = 0
        /// `record.lastUsed` is newer than the stored record.
        var lastUsedDirty = false
    }

    /// Totals over distinct stored blocks.
    struct Totals: Equatable {
        var blocks = 0
        var rawBytes = 0
        var storedBytes = 0
        /// Bytes of all checkpoints (counted against the capacity with `storedBytes`).
        var checkpointBytes = 0
        /// Blocks in the upload queue, and their stored bytes.
        var pendingUploads = 0
        var pendingUploadBytes = 0
        /// Blocks whose payload only the shared tier holds (``BlockMeta/remote``); not in the
        /// three counts above.
        var remoteBlocks = 0
    }

    var sessions: [String: Session] = [:]
    var totals = Totals()
    /// Bytes charged to each owner namespace (``StoreWriter/Counters/usage``), as of the last commit.
    var usage: [UInt32: Int] = [:]
    var evictions = 0
    /// Sessions with at least one pin (kept, so `stats()` does not walk every session).
    var pinnedSessions = 0
    var commits = 0
    var flushes = 0
    var writeRequests = 0
    var useTick: UInt64 = 0
    /// Set once `close()` starts: no new requests are accepted.
    var closing = false
    /// Set when the environment is closed.
    var closed = false
    /// Read transactions (and representative-key readers) in progress.
    var activeReaders = 0

    mutating func nextTick() -> UInt64 {
        useTick += 1
        return useTick
    }

    static func emptyLayers(_ descriptor: ModelDescriptor) -> [Layer] {
        (0..<descriptor.layers).map { _ in Layer(table: KeyTable(dimension: descriptor.vectorDimension, capacity: 1)) }
    }
}

/// What the writer publishes to ``StoreState`` after a commit, in order.
enum StoreEvent {
    case created(id: UInt64, record: SessionRecord)
    case forked(id: UInt64, record: SessionRecord, source: String, blocksPerLayer: Int)
    case appended(record: SessionRecord, blocks: [(layer: Int, id: BlockID, key: [Float])])
    case updated(record: SessionRecord)
    case renamed(from: String, record: SessionRecord)
    case dropped(name: String, evicted: Bool)
}

extension StoreState {
    /// Applies one committed event.
    mutating func apply(_ event: StoreEvent) {
        switch event {
        case let .created(id, record):
            let tick = nextTick()
            sessions[record.name] = Session(
                id: id, record: record, layers: StoreState.emptyLayers(record.descriptor), useTick: tick)
        case let .forked(id, record, source, n):
            let tick = nextTick()
            var layers = StoreState.emptyLayers(record.descriptor)
            if let src = sessions[source] {
                for l in layers.indices where l < src.layers.count {
                    let count = min(n, src.layers[l].ids.count)
                    layers[l] = Layer(ids: Array(src.layers[l].ids.prefix(count)), table: src.layers[l].table, ownsTable: false)
                }
            }
            sessions[record.name] = Session(id: id, record: record, layers: layers, useTick: tick)
        case let .appended(record, blocks):
            guard var s = sessions.removeValue(forKey: record.name) else { return }
            for b in blocks {
                var layer = s.layers[b.layer]
                let count = layer.ids.count
                if !layer.ownsTable {
                    layer.table = layer.table.copy(count: count, capacity: max(2 * count, 1))
                    layer.ownsTable = true
                }
                layer.table = layer.table.ensuring(capacity: count + 1, count: count)
                b.key.withUnsafeBufferPointer { k in
                    layer.table.row(count).update(from: k.baseAddress!, count: layer.table.dimension)
                }
                layer.ids.append(b.id)
                s.layers[b.layer] = layer
            }
            s.record = merged(record, into: s)
            s.useTick = nextTick()
            sessions[record.name] = s
        case let .updated(record):
            guard var s = sessions[record.name] else { return }
            s.record = merged(record, into: s)
            s.useTick = nextTick()
            sessions[record.name] = s
        case let .renamed(from, record):
            guard var s = sessions.removeValue(forKey: from) else { return }
            s.record.name = record.name
            sessions[record.name] = s
        case let .dropped(name, evicted):
            guard let removed = sessions.removeValue(forKey: name) else { return }
            if evicted { evictions += 1 }
            if removed.pins > 0 { pinnedSessions -= 1 }
        }
    }

    /// `record`, keeping an in-memory `lastUsed` newer than the stored one.
    private func merged(_ record: SessionRecord, into s: Session) -> SessionRecord {
        var r = record
        r.lastUsed = max(r.lastUsed, s.record.lastUsed)
        return r
    }
}
