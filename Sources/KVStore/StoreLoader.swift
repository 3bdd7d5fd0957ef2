import CoreTypes

/// Rebuilds the in-memory state (sessions, representative-key tables, totals) from LMDB when a
/// store is opened.
enum StoreLoader {
    /// Upgrades a store of format 1 to the current format in one write transaction: every block
    /// record without an owner namespace is charged to the namespace of the owner of the first
    /// session (in name order) that references it (0 when none does). Returns at once for a
    /// store already in the current format.
    static func upgrade(_ lmdb: LMDBEnvironment, sharing: BlockSharing) throws(StoreError) {
        guard lmdb.openedFormat < LMDBEnvironment.formatVersion else { return }
        let txn = try lmdb.write()
        do throws(StoreError) {
            var sessions: [SessionValue] = []
            try txn.scan(lmdb.sessions, prefix: []) { (_, v) throws(StoreError) in
                sessions.append(try SessionValue.decode(v))
                return true
            }
            var namespaces: [BlockID: UInt32] = [:]
            for session in sessions {
                let namespace = sharing.namespace(of: session.record.owner)
                try txn.scan(lmdb.layers, prefix: StorageKeys.layerPrefix(session: session.id)) { (_, v) throws(StoreError) in
                    guard v.count == 16 else { throw .corrupt }
                    let id = BlockID(bytes: v)
                    if namespaces[id] == nil { namespaces[id] = namespace }
                    return true
                }
            }
            var upgraded: [(BlockID, [UInt8])] = []
            try txn.scan(lmdb.blocks, prefix: []) { (k, v) throws(StoreError) in
                guard k.count == 16 else { throw .corrupt }
                var meta = try BlockMeta.decode(v)
                if meta.namespace == nil {
                    let id = BlockID(bytes: k)
                    meta.namespace = namespaces[id] ?? 0
                    upgraded.append((id, meta.encoded()))
                }
                return true
            }
            for (id, value) in upgraded { try txn.put(lmdb.blocks, StorageKeys.block(id), value) }
            var w = ByteWriter()
            w.u32(LMDBEnvironment.formatVersion)
            try txn.put(lmdb.meta, Array("format".utf8), w.bytes)
        } catch {
            txn.abort()
            throw error
        }
        try txn.commit()
    }

    static func load(_ lmdb: LMDBEnvironment, sharing: BlockSharing) throws(StoreError) -> (StoreState, StoreWriter.Counters) {
        let txn = try lmdb.read()
        defer { txn.abort() }
        var state = StoreState()
        var counters = StoreWriter.Counters()

        try txn.scan(lmdb.blocks, prefix: []) { (_, v) throws(StoreError) in
            let (meta, _) = try BlockMeta.decodeHeader(v)
            if meta.remote {
                counters.totals.remoteBlocks += 1
                return true
            }
            counters.totals.blocks += 1
            counters.totals.rawBytes += meta.rawLength
            counters.totals.storedBytes += meta.storedLength
            counters.usage[meta.namespace ?? 0, default: 0] += meta.storedLength
            return true
        }

        try txn.scan(lmdb.uploads, prefix: []) { (k, _) throws(StoreError) in
            guard k.count == 16, let v = try txn.get(lmdb.blocks, Array(k)) else { throw .corrupt }
            counters.totals.pendingUploads += 1
            counters.totals.pendingUploadBytes += try BlockMeta.decodeHeader(v).0.storedLength
            return true
        }

        var values: [SessionValue] = []
        try txn.scan(lmdb.sessions, prefix: []) { (_, v) throws(StoreError) in
            values.append(try SessionValue.decode(v))
            return true
        }
        var maxID: UInt64 = 0
        for value in values {
            maxID = max(maxID, value.id)
            let d = value.record.descriptor
            var layers = StoreState.emptyLayers(d)
            for l in 0..<d.layers {
                let n = value.record.blocksPerLayer[l]
                layers[l].table = KeyTable(dimension: d.vectorDimension, capacity: max(1, n))
                layers[l].ids.reserveCapacity(n)
            }
            try txn.scan(lmdb.layers, prefix: StorageKeys.layerPrefix(session: value.id)) { (k, v) throws(StoreError) in
                guard k.count == 16, v.count == 16 else { throw .corrupt }
                let layer = Int(ByteCoding.uint32BE(k, at: 8)), position = Int(ByteCoding.uint32BE(k, at: 12))
                guard layer < d.layers, position == layers[layer].ids.count,
                      position < value.record.blocksPerLayer[layer] else { throw .corrupt }
                let id = BlockID(bytes: v)
                guard let meta = try txn.get(lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
                let (_, dim) = try BlockMeta.decodeHeader(meta)
                guard dim == d.vectorDimension else { throw .corrupt }
                BlockMeta.copyKey(meta, into: layers[layer].table.row(position), dimension: dim)
                layers[layer].ids.append(id)
                return true
            }
            for l in 0..<d.layers where layers[l].ids.count != value.record.blocksPerLayer[l] { throw .corrupt }
            state.sessions[value.record.name] = StoreState.Session(id: value.id, record: value.record, layers: layers)
        }
        // Checkpoints are charged to their session's owner namespace.
        let owners = Dictionary(uniqueKeysWithValues: values.map { ($0.id, $0.record.owner) })
        try txn.scan(lmdb.checkpoints, prefix: []) { (k, v) throws(StoreError) in
            guard k.count == 8 else { throw .corrupt }
            let owner = owners[ByteCoding.uint64BE(k, at: 0)] ?? 0
            counters.totals.checkpointBytes += v.count
            counters.usage[sharing.namespace(of: owner), default: 0] += v.count
            return true
        }
        // LRU order survives restarts through the persisted use sequence.
        for value in values {
            state.sessions[value.record.name]?.useTick = value.useSequence
            state.useTick = max(state.useTick, value.useSequence)
        }

        if let v = try txn.get(lmdb.meta, StorageKeys.nextSessionID) {
            guard v.count == 8 else { throw .corrupt }
            counters.nextSessionID = ByteCoding.uint64(v, at: 0)
        }
        counters.nextSessionID = max(counters.nextSessionID, maxID + 1)
        state.totals = counters.totals
        state.usage = counters.usage
        return (state, counters)
    }
}
