import CoreTypes

/// One session as stored, from one read snapshot: what a shared tier publishes of it
/// (docs/TIER.md "What lives in the cluster").
public struct SessionSnapshot: Sendable, Equatable {
    /// The session record.
    public let record: SessionRecord
    /// Per layer, the blocks in position order, each with its representative key.
    public let layers: [[SnapshotBlock]]
    /// The checkpoint bytes, when the session has one.
    public let checkpoint: [UInt8]?

    public init(record: SessionRecord, layers: [[SnapshotBlock]], checkpoint: [UInt8]?) {
        self.record = record
        self.layers = layers
        self.checkpoint = checkpoint
    }
}

/// A block of a ``SessionSnapshot``: its metadata and its representative key (D floats).
public struct SnapshotBlock: Sendable, Equatable {
    public let info: BlockInfo
    public let key: [Float]

    public init(info: BlockInfo, key: [Float]) {
        self.info = info
        self.key = key
    }
}

extension KVStore {
    /// Session `name`, its blocks' metadata and keys, and its checkpoint, in one read snapshot
    /// (consistent with each other whatever the writer does meanwhile). Reads no payload.
    /// Throws `.sessionNotFound`.
    public func snapshot(session name: String) throws(StoreError) -> SessionSnapshot {
        try core.withRead { (txn) throws(StoreError) in
            guard Self.isValid(name: name), let v = try txn.get(core.lmdb.sessions, StorageKeys.session(name)) else {
                throw .sessionNotFound
            }
            let session = try SessionValue.decode(v)
            var layers: [[SnapshotBlock]] = []
            for layer in 0..<session.record.descriptor.layers {
                let count = session.record.blocksPerLayer[layer]
                var blocks: [SnapshotBlock] = []
                blocks.reserveCapacity(count)
                for position in 0..<count {
                    guard let entry = try txn.get(core.lmdb.layers, StorageKeys.layerEntry(session: session.id, layer: layer, position: position)),
                          entry.count == 16 else { throw .corrupt }
                    let id = BlockID(bytes: entry)
                    guard let stored = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
                    let meta = try BlockMeta.decode(stored)
                    blocks.append(SnapshotBlock(info: meta.info(id: id), key: meta.key))
                }
                layers.append(blocks)
            }
            let checkpoint = try txn.get(core.lmdb.checkpoints, StorageKeys.checkpoint(session: session.id)).map { Array($0) }
            return SessionSnapshot(record: session.record, layers: layers, checkpoint: checkpoint)
        }
    }
}
