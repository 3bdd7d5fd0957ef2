/// Rebuilds the in-memory state (sessions, representative-key tables, totals) from LMDB when a
/// store is opened.
enum StoreLoader {
    static func load(_ lmdb: LMDBEnvironment) throws(StoreError) -> (StoreState, StoreWriter.Counters) {
        let txn = try lmdb.read()
        defer { txn.abort() }
        var state = StoreState()
        var counters = StoreWriter.Counters()

        try txn.scan(lmdb.blocks, prefix: []) { (_, v) throws(StoreError) in
            let (meta, _) = try BlockMeta.decodeHeader(v)
            counters.totals.blocks += 1
            counters.totals.rawBytes += meta.rawLength
            counters.totals.storedBytes += meta.storedLength
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
                layers[l].table = KeyTable(dimension: d.keyDimension, capacity: max(1, n))
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
                guard dim == d.keyDimension else { throw .corrupt }
                BlockMeta.copyKey(meta, into: layers[layer].table.row(position), dimension: dim)
                layers[layer].ids.append(id)
                return true
            }
            for l in 0..<d.layers where layers[l].ids.count != value.record.blocksPerLayer[l] { throw .corrupt }
            state.sessions[value.record.name] = StoreState.Session(id: value.id, record: value.record, layers: layers)
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
        return (state, counters)
    }
}
