import CoreTypes

extension KVStore {
    /// Checks the whole store in one read snapshot: every payload decodes and matches its
    /// CRC-32C and its block metadata (codec, lengths, checksum); every block has a payload
    /// (except remote ones, which have none) and
    /// a reference count equal to the references to it; every session's layer lists are
    /// contiguous, match its block counts, and point at stored blocks; checkpoints belong to
    /// existing sessions whose records say they have one; the upload queue names stored blocks
    /// only. Does not wait for the
    /// writer. A closed store reports one failure.
    public func verify() -> VerifyReport {
        do {
            return try core.withRead { (txn) throws(StoreError) in try Self.verify(txn, core.lmdb) }
        } catch {
            return VerifyReport(blocksChecked: 0, referencesChecked: 0, failures: [
                .init(block: nil, session: nil, kind: .storeUnreadable, reason: "could not read the store: \(error)"),
            ])
        }
    }

    private static func verify(_ txn: Transaction, _ lmdb: LMDBEnvironment) throws(StoreError) -> VerifyReport {
        var failures: [VerifyReport.Failure] = []
        var metas: [BlockID: BlockMeta] = [:]
        try txn.scan(lmdb.blocks, prefix: []) { (k, v) throws(StoreError) in
            guard k.count == 16 else {
                failures.append(.init(block: nil, session: nil, kind: .malformedBlockMetadata, reason: "block key of \(k.count) bytes"))
                return true
            }
            let id = BlockID(bytes: k)
            if let (meta, _) = try? BlockMeta.decodeHeader(v) {
                metas[id] = meta
            } else {
                failures.append(.init(block: id, session: nil, kind: .malformedBlockMetadata, reason: "malformed block metadata"))
            }
            return true
        }

        var checked = 0
        var withPayload = Set<BlockID>()
        try txn.scan(lmdb.payloads, prefix: []) { (k, v) throws(StoreError) in
            guard k.count == 16 else { return true }
            let id = BlockID(bytes: k)
            withPayload.insert(id)
            checked += 1
            guard let meta = metas[id] else {
                failures.append(.init(block: id, session: nil, kind: .payloadWithoutMetadata, reason: "payload without block metadata"))
                return true
            }
            if meta.remote {
                failures.append(.init(block: id, session: nil, kind: .payloadMetadataMismatch, reason: "payload of a block recorded as remote"))
            }
            do throws(StoreError) {
                let header = try PayloadCodec.header(v)
                let raw = try PayloadCodec.decode(v)
                if header.codec.rawValue != meta.codec || raw.count != meta.rawLength || v.count != meta.storedLength
                    || header.checksum != meta.checksum {
                    failures.append(.init(block: id, session: nil, kind: .payloadMetadataMismatch, reason: "payload does not match its metadata"))
                }
            } catch {
                failures.append(.init(block: id, session: nil, kind: .payloadCorrupt, reason: "payload fails to decode or to match its checksum"))
            }
            return true
        }
        for (id, meta) in metas where !meta.remote && !withPayload.contains(id) {
            failures.append(.init(block: id, session: nil, kind: .blockWithoutPayload, reason: "block without payload"))
        }

        var references: [BlockID: Int] = [:]
        var referencesChecked = 0
        var sessions: [SessionValue] = []
        try txn.scan(lmdb.sessions, prefix: []) { (k, v) throws(StoreError) in
            if let s = try? SessionValue.decode(v) {
                sessions.append(s)
            } else {
                failures.append(.init(block: nil, session: String(decoding: k, as: UTF8.self), kind: .malformedSession, reason: "malformed session record"))
            }
            return true
        }
        for s in sessions {
            var counts = Array(repeating: 0, count: s.record.descriptor.layers)
            var bad = false
            var stored = 0
            try txn.scan(lmdb.layers, prefix: StorageKeys.layerPrefix(session: s.id)) { (k, v) throws(StoreError) in
                referencesChecked += 1
                guard k.count == 16, v.count == 16 else {
                    bad = true
                    return true
                }
                let layer = Int(ByteCoding.uint32BE(k, at: 8)), position = Int(ByteCoding.uint32BE(k, at: 12))
                guard layer < counts.count, position == counts[layer] else {
                    bad = true
                    return true
                }
                counts[layer] += 1
                let id = BlockID(bytes: v)
                references[id, default: 0] += 1
                if let meta = metas[id] {
                    stored += meta.storedLength
                } else {
                    failures.append(.init(block: id, session: s.record.name, kind: .missingBlock, reason: "reference to a missing block"))
                }
                return true
            }
            if bad || counts != s.record.blocksPerLayer {
                failures.append(.init(block: nil, session: s.record.name, kind: .layerListMismatch, reason: "layer lists do not match the block counts"))
            }
            if stored != s.record.storedBytes {
                failures.append(.init(block: nil, session: s.record.name, kind: .storedBytesMismatch, reason: "stored bytes \(s.record.storedBytes) != \(stored) referenced"))
            }
        }
        var checkpointOwners = Set<UInt64>()
        try txn.scan(lmdb.checkpoints, prefix: []) { (k, _) throws(StoreError) in
            if k.count == 8 { checkpointOwners.insert(ByteCoding.uint64BE(k, at: 0)) }
            return true
        }
        let sessionIDs = Set(sessions.map(\.id))
        for s in sessions where s.record.hasCheckpoint != checkpointOwners.contains(s.id) {
            failures.append(.init(block: nil, session: s.record.name, kind: .checkpointMismatch, reason: "checkpoint flag does not match the stored checkpoint"))
        }
        for id in checkpointOwners.subtracting(sessionIDs) {
            failures.append(.init(block: nil, session: nil, kind: .checkpointMismatch, reason: "checkpoint of unknown session id \(id)"))
        }
        try txn.scan(lmdb.uploads, prefix: []) { (k, _) throws(StoreError) in
            if k.count != 16 || metas[BlockID(bytes: k)] == nil {
                failures.append(.init(
                    block: k.count == 16 ? BlockID(bytes: k) : nil, session: nil, kind: .missingBlock,
                    reason: "the upload queue names a block that is not stored"))
            }
            return true
        }
        for (id, meta) in metas where Int(meta.refcount) != references[id, default: 0] {
            failures.append(.init(block: id, session: nil, kind: .referenceCountMismatch, reason: "reference count \(meta.refcount) != \(references[id, default: 0]) references"))
        }
        return VerifyReport(blocksChecked: checked, referencesChecked: referencesChecked, failures: failures)
    }
}
