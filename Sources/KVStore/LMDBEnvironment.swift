import CLMDB
import CoreTypes
import Foundation

/// The LMDB environment of a store and its named databases (layout in docs/STORAGE.md).
/// Read transactions may be used from any thread (`MDB_NOTLS`); write transactions only from
/// the writer thread.
package final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    /// `meta`: format version and counters.
    let meta: MDB_dbi
    /// `sessions`: session name → session record.
    let sessions: MDB_dbi
    /// `layers`: (session id, layer, position) → block id.
    let layers: MDB_dbi
    /// `blocks`: block id → block metadata and representative key.
    let blocks: MDB_dbi
    /// `payloads`: block id → encoded payload.
    package let payloads: MDB_dbi
    /// `checkpoints`: session id → checkpoint bytes.
    let checkpoints: MDB_dbi
    /// `uploads`: block id → empty: stored blocks not yet written to the shared tier.
    let uploads: MDB_dbi
    /// `publications`: session name → mark u64: sessions to publish to the shared tier.
    let publications: MDB_dbi
    let mapSize: Int
    let pageSize: Int
    let directory: String

    /// On-disk format version written to `meta["format"]`: 2 since block records carry their
    /// owner namespace (version-3 `BlockMeta`). A store of format 1 opens and is upgraded by
    /// ``StoreLoader/upgrade(_:sharing:)``.
    static let formatVersion: UInt32 = 2
    /// The format the store had when opened (before any upgrade).
    let openedFormat: UInt32

    package init(directory: String, mapSize: Int, maxReaders: Int, noSync: Bool) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(errno: (error as NSError).domain == NSPOSIXErrorDomain ? Int32((error as NSError).code) : EIO)
        }
        var env: OpaquePointer?
        try LMDB.check(mdb_env_create(&env))
        guard let env else { throw .lmdb(code: -1) }
        let rounded = max(4096 * 16, (mapSize + 4095) / 4096 * 4096)
        do throws(StoreError) {
            try LMDB.check(mdb_env_set_mapsize(env, rounded))
            try LMDB.check(mdb_env_set_maxdbs(env, 16))
            try LMDB.check(mdb_env_set_maxreaders(env, UInt32(max(1, maxReaders))))
            let flags = UInt32(MDB_NOTLS) | (noSync ? UInt32(MDB_NOSYNC) : 0)
            try LMDB.check(mdb_env_open(env, directory, flags, 0o600))
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.env = env
        self.directory = directory
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.mapSize = info.me_mapsize
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        self.pageSize = Int(stat.ms_psize)
        // A data file shorter than its last committed page (truncated by a failing disk or a
        // careless copy) would make LMDB fault (SIGBUS) on first access through the map:
        // refuse it instead.
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")[.size] as? Int) ?? nil
        if let fileSize, fileSize < (info.me_last_pgno + 1) * pageSize {
            mdb_env_close(env)
            throw .corrupt
        }

        do throws(StoreError) {
            let txn = try Transaction.begin(env: env, parent: nil, readOnly: false)
            do throws(StoreError) {
                func open(_ name: String) throws(StoreError) -> MDB_dbi {
                    var dbi: MDB_dbi = 0
                    try LMDB.check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE), &dbi))
                    return dbi
                }
                meta = try open("meta")
                sessions = try open("sessions")
                layers = try open("layers")
                blocks = try open("blocks")
                payloads = try open("payloads")
                checkpoints = try open("checkpoints")
                uploads = try open("uploads")
                publications = try open("publications")
                let key = Array("format".utf8)
                if let value = try txn.get(meta, key) {
                    guard value.count == 4 else { throw StoreError.corrupt }
                    let version = ByteCoding.uint32(value, at: 0)
                    guard (1...LMDBEnvironment.formatVersion).contains(version) else { throw StoreError.unsupportedFormat(version: version) }
                    openedFormat = version
                } else {
                    var w = ByteWriter()
                    w.u32(LMDBEnvironment.formatVersion)
                    try txn.put(meta, key, w.bytes)
                    openedFormat = LMDBEnvironment.formatVersion
                }
                try txn.commit()
            } catch {
                txn.abort()
                throw error
            }
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    /// Begins a read-only transaction (any thread).
    package func read() throws(StoreError) -> Transaction {
        try Transaction.begin(env: env, parent: nil, readOnly: true)
    }

    /// Begins a write transaction, nested in `parent` if given (writer thread only).
    package func write(parent: Transaction? = nil) throws(StoreError) -> Transaction {
        try Transaction.begin(env: env, parent: parent, readOnly: false)
    }

    /// The environment's LMDB flags (`mdb_env_get_flags`).
    var flags: UInt32 {
        var f: UInt32 = 0
        mdb_env_get_flags(env, &f)
        return f
    }

    /// Flushes the map to disk (`mdb_env_sync(force: 1)`).
    func sync() throws(StoreError) {
        try LMDB.check(mdb_env_sync(env, 1))
    }

    /// Bytes of the map in use: (last used page + 1) × page size.
    var mapBytesUsed: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return (info.me_last_pgno + 1) * pageSize
    }

    /// Writes a compacted copy of the environment into the existing directory `path`.
    func copyCompacted(to path: String) throws(StoreError) {
        try LMDB.check(mdb_env_copy2(env, path, UInt32(MDB_CP_COMPACT)))
    }

    /// LMDB reports a short write (what a full file system usually causes) as `EIO`; a commit
    /// failing with `EIO` while the file system has less than 16 MiB available is `.diskFull`.
    func classifyWriteFailure(_ error: StoreError) -> StoreError {
        guard error == .lmdb(code: EIO) else { return error }
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return error }
        let available = Int(fs.f_bavail) * Int(fs.f_frsize)
        return available < 16 << 20 ? .diskFull : .io(errno: EIO)
    }

    /// Closes the environment; no transaction may be open.
    package func close() {
        mdb_env_close(env)
    }
}

/// LMDB return-code mapping.
enum LMDB {
    /// Throws the `StoreError` for a non-zero LMDB/errno return code.
    static func check(_ rc: Int32) throws(StoreError) {
        guard rc != 0 else { return }
        throw error(rc)
    }

    static func error(_ rc: Int32) -> StoreError {
        switch rc {
        case MDB_MAP_FULL: .mapFull
        case ENOSPC, EDQUOT: .diskFull
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND: .corrupt
        case MDB_VERSION_MISMATCH, MDB_INVALID: .unsupportedFormat(version: 0)
        default: .lmdb(code: rc)
        }
    }
}

/// One LMDB transaction. Values returned by ``get(_:_:)`` and passed to scans point into the
/// map and are valid only until the transaction ends or writes to that database.
package struct Transaction {
    let txn: OpaquePointer

    static func begin(env: OpaquePointer, parent: Transaction?, readOnly: Bool) throws(StoreError) -> Transaction {
        var txn: OpaquePointer?
        try LMDB.check(mdb_txn_begin(env, parent?.txn, readOnly ? UInt32(MDB_RDONLY) : 0, &txn))
        guard let txn else { throw .lmdb(code: -1) }
        return Transaction(txn: txn)
    }

    package func commit() throws(StoreError) { try LMDB.check(mdb_txn_commit(txn)) }
    package func abort() { mdb_txn_abort(txn) }

    /// The value under `key`, or nil.
    package func get(_ dbi: MDB_dbi, _ key: [UInt8]) throws(StoreError) -> UnsafeRawBufferPointer? {
        var data = MDB_val()
        let rc = key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_get(txn, dbi, &kv, &data)
        }
        if rc == MDB_NOTFOUND { return nil }
        try LMDB.check(rc)
        return UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)
    }

    /// Stores `value` under `key` (replacing).
    package func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws(StoreError) {
        let rc = key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                return mdb_put(txn, dbi, &kv, &vv, 0)
            }
        }
        try LMDB.check(rc)
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    func delete(_ dbi: MDB_dbi, _ key: [UInt8]) throws(StoreError) -> Bool {
        let rc = key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_del(txn, dbi, &kv, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try LMDB.check(rc)
        return true
    }

    /// Calls `body` for every entry whose key starts with `prefix`, in key order. `body`
    /// returns false to stop.
    func scan(
        _ dbi: MDB_dbi, prefix: [UInt8], from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> Bool
    ) throws(StoreError) {
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor))
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var data = MDB_val()
        var rc: Int32
        let first = start ?? prefix
        if first.isEmpty {
            rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST)
        } else {
            rc = first.withUnsafeBytes { p in
                key = MDB_val(mv_size: p.count, mv_data: UnsafeMutableRawPointer(mutating: p.baseAddress))
                return mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE)
            }
        }
        while rc == 0 {
            let k = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            guard k.count >= prefix.count, prefix.indices.allSatisfy({ k[$0] == prefix[$0] }) else { return }
            guard try body(k, UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)) else { return }
            rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDB.check(rc) }
    }
}
