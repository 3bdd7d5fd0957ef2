import CLMDB
import CoreTypes
import Foundation

/// What a hot backup wrote.
public struct BackupSummary: Sendable, Equatable {
    /// Size of the copy's `data.mdb`, bytes.
    public var bytes: Int
    /// Sessions in the copy.
    public var sessions: Int
    /// Distinct blocks in the copy.
    public var blocks: Int
}

/// What an offline compaction did.
public struct CompactionSummary: Sendable, Equatable {
    /// Size of `data.mdb` before, bytes.
    public var bytesBefore: Int
    /// Size of `data.mdb` after, bytes.
    public var bytesAfter: Int
}

/// How much of the store one session uses (`kvctl inspect`).
public struct SessionUsage: Sendable, Equatable {
    /// The session's record.
    public var record: SessionRecord
    /// Pins held on it (connections holding it open).
    public var pins: Int
    /// References of this session to blocks that other references share (reference count > 1).
    public var sharedReferences: Int
    /// Uncompressed payload bytes of the session's references.
    public var rawBytes: Int
    /// Stored (compressed) payload bytes per layer.
    public var layerStoredBytes: [Int]
}

extension KVStore {
    /// Writes a consistent, compacted copy of the store into `directory` while the store keeps
    /// serving (one LMDB read snapshot, `mdb_env_copy2` with `MDB_CP_COMPACT`): every write
    /// committed before the call is in the copy. `directory` must not exist or be empty; it is
    /// created with mode 0700. The copy is fsynced (file and directory) before returning and
    /// can be opened by `KVStore(configuration:)` as a store of its own.
    /// Throws `.io(ENOTDIR)` / `.io(ENOTEMPTY)` for an unusable directory, `.io` with the
    /// `mkdir` errno when it cannot be created, or an LMDB error.
    public func backup(to directory: String) throws(StoreError) -> BackupSummary {
        try Self.prepareEmptyDirectory(directory)
        try compactCopy(to: directory)
        let data = directory + "/data.mdb"
        try Self.fsync(path: data)
        try Self.fsync(path: directory)
        let (sessions, blocks) = try Self.countEntries(directory: directory)
        return BackupSummary(bytes: Self.fileSize(data) ?? 0, sessions: sessions, blocks: blocks)
    }

    /// Compacts the store in `directory` offline: writes a compacted copy next to it, fsyncs
    /// it, then atomically renames it over `data.mdb` (LMDB never shrinks its file itself; this
    /// returns the free pages to the file system). Takes the store's directory lock first, so it
    /// throws `.locked` while a kvd (or any open `KVStore`) serves the directory.
    public static func compact(directory: String) throws(StoreError) -> CompactionSummary {
        let data = directory + "/data.mdb"
        guard let before = fileSize(data) else { throw .io(errno: ENOENT) }
        let lock = try DirectoryLock(directory: directory)
        defer { lock.release() }
        let scratch = directory + "/compact.tmp"
        try? FileManager.default.removeItem(atPath: scratch)
        try prepareEmptyDirectory(scratch)
        do throws(StoreError) {
            let lmdb = try LMDBEnvironment(directory: directory, mapSize: 0, maxReaders: 1, noSync: false)
            defer { lmdb.close() }
            try lmdb.copyCompacted(to: scratch)
            try fsync(path: scratch + "/data.mdb")
        } catch {
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
        guard rename(scratch + "/data.mdb", data) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: scratch)
            throw .io(errno: code)
        }
        // The reader table of the old file; LMDB recreates it on the next open.
        unlink(directory + "/lock.mdb")
        try? FileManager.default.removeItem(atPath: scratch)
        try fsync(path: directory)
        return CompactionSummary(bytesBefore: before, bytesAfter: fileSize(data) ?? 0)
    }

    /// Usage details of session `name`, or nil when it does not exist. Reads block metadata
    /// (not payloads) in one read snapshot; does not wait for the writer.
    public func sessionUsage(named name: String) throws(StoreError) -> SessionUsage? {
        let snapshot: (SessionRecord, Int, [[BlockID]])? = core.state.withLock { s in
            guard let session = s.sessions[name] else { return nil }
            return (session.record, session.pins, session.layers.map(\.ids))
        }
        guard let (record, pins, layers) = snapshot else { return nil }
        return try core.withRead { (txn) throws(StoreError) in
            var shared = 0, raw = 0
            var perLayer: [Int] = []
            for ids in layers {
                var stored = 0
                for id in ids {
                    guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
                    let (meta, _) = try BlockMeta.decodeHeader(v)
                    if meta.refcount > 1 { shared += 1 }
                    raw += meta.rawLength
                    stored += meta.storedLength
                }
                perLayer.append(stored)
            }
            return SessionUsage(record: record, pins: pins, sharedReferences: shared, rawBytes: raw, layerStoredBytes: perLayer)
        }
    }

    // MARK: - Helpers

    /// Creates `directory` (0700) or accepts an existing empty one.
    static func prepareEmptyDirectory(_ directory: String) throws(StoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .io(errno: ENOTDIR) }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
            guard entries.isEmpty else { throw .io(errno: ENOTEMPTY) }
            return
        }
        guard mkdir(directory, 0o700) == 0 else { throw .io(errno: errno) }
    }

    static func fsync(path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(errno: errno) }
        defer { Glibc.close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw .io(errno: errno) }
    }

    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// Entries of the `sessions` and `blocks` databases of the environment in `directory`,
    /// opened read-only (`MDB_RDONLY | MDB_NOLOCK`: nothing is written to the copy).
    static func countEntries(directory: String) throws(StoreError) -> (sessions: Int, blocks: Int) {
        var env: OpaquePointer?
        try LMDB.check(mdb_env_create(&env))
        guard let env else { throw .lmdb(code: -1) }
        defer { mdb_env_close(env) }
        try LMDB.check(mdb_env_set_maxdbs(env, 8))
        try LMDB.check(mdb_env_open(env, directory, UInt32(MDB_RDONLY | MDB_NOLOCK), 0o600))
        let txn = try Transaction.begin(env: env, parent: nil, readOnly: true)
        defer { txn.abort() }
        func entries(_ name: String) throws(StoreError) -> Int {
            var dbi: MDB_dbi = 0
            try LMDB.check(mdb_dbi_open(txn.txn, name, 0, &dbi))
            var stat = MDB_stat()
            try LMDB.check(mdb_stat(txn.txn, dbi, &stat))
            return Int(stat.ms_entries)
        }
        return (try entries("sessions"), try entries("blocks"))
    }
}
