import CoreTypes

/// A log level on the wire (one byte), the seven levels of swift-log in increasing severity.
public enum WireLogLevel: UInt8, Sendable, Hashable, CaseIterable {
    /// `trace` (0).
    case trace = 0
    /// `debug` (1).
    case debug = 1
    /// `info` (2).
    case info = 2
    /// `notice` (3).
    case notice = 3
    /// `warning` (4).
    case warning = 4
    /// `error` (5).
    case error = 5
    /// `critical` (6).
    case critical = 6

    /// The level's name as kvd's `--log-level` spells it (`trace` … `critical`).
    public var name: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }

    /// The level named `name` (as `--log-level` spells it), or nil.
    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    static func decode(from r: inout WireReader, _ what: StaticString) throws(ProtocolError) -> WireLogLevel {
        let raw = try r.u8(what)
        guard let level = WireLogLevel(rawValue: raw) else {
            throw ProtocolError(.badArgument, "\(what) \(raw) is not a log level (0…6)")
        }
        return level
    }
}

/// Apply configuration without a restart (type `reload`, 0x0050; administrators only).
/// Layout: `options u8 (bit 0: a level is given) | level u8 (WireLogLevel; 0 when bit 0 is
/// clear)`. With a level, the daemon's log level becomes it; without, the daemon re-reads its
/// configuration (flags > KVD_* environment > config file) as on SIGHUP.
public struct ReloadRequest: WireBody {
    /// The log level to set; nil: re-read the configuration.
    public var logLevel: WireLogLevel?

    /// Creates the request.
    public init(logLevel: WireLogLevel? = nil) { self.logLevel = logLevel }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u8(logLevel == nil ? 0 : 1)
        w.u8(logLevel?.rawValue ?? 0)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> ReloadRequest {
        let options = try r.options("reload.options", known: 0x01)
        let level = try WireLogLevel.decode(from: &r, "reload.level")
        try r.expectEnd("reload")
        return ReloadRequest(logLevel: options & 1 != 0 ? level : nil)
    }
}

/// Reply to `reload` (type `reloaded`, 0x8050). Layout: `previous u8 | current u8` (both
/// WireLogLevel): the log level before and after the reload.
public struct ReloadReply: WireBody {
    /// The level before the reload.
    public var previous: WireLogLevel
    /// The level now in effect.
    public var current: WireLogLevel

    /// Creates the reply.
    public init(previous: WireLogLevel, current: WireLogLevel) {
        self.previous = previous
        self.current = current
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u8(previous.rawValue)
        w.u8(current.rawValue)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> ReloadReply {
        let previous = try WireLogLevel.decode(from: &r, "reloaded.previous")
        let current = try WireLogLevel.decode(from: &r, "reloaded.current")
        try r.expectEnd("reloaded")
        return ReloadReply(previous: previous, current: current)
    }
}

/// Write a consistent copy of the whole store while kvd keeps serving (type `backup`, 0x0051;
/// administrators only). Layout: `pathLength u16 (1…4096) | path UTF-8`.
///
/// `path` is an absolute directory path on the daemon's host; it must not exist, or be an
/// empty directory, and its parent must be writable by the daemon's user. The copy is one LMDB
/// read snapshot (compacted: free pages omitted): every append acknowledged before the request
/// was sent is in it; appends acknowledged meanwhile may or may not be.
public struct BackupRequest: WireBody {
    /// Largest path accepted, in UTF-8 bytes: 4096 (PATH_MAX).
    public static let maximumPathBytes = 4096
    /// Absolute destination directory on the daemon's host.
    public var path: String

    /// Creates the request.
    public init(path: String) { self.path = path }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        let utf8 = Array(path.utf8)
        guard (1...Self.maximumPathBytes).contains(utf8.count), path.hasPrefix("/"), !utf8.contains(0) else {
            throw ProtocolError(.badArgument, "backup.path must be an absolute path of 1…\(Self.maximumPathBytes) bytes without NUL")
        }
        w.u16(UInt16(utf8.count))
        w.raw(utf8)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> BackupRequest {
        let n = Int(try r.u16("backup.pathLength"))
        guard (1...maximumPathBytes).contains(n) else {
            throw ProtocolError(.badArgument, "backup.pathLength \(n) is outside 1…\(maximumPathBytes)")
        }
        let utf8 = try r.slice(count: n, "backup.path")
        guard !utf8.contains(0), let path = String(validating: utf8, as: UTF8.self), path.hasPrefix("/") else {
            throw ProtocolError(.badArgument, "backup.path must be absolute UTF-8 without NUL")
        }
        try r.expectEnd("backup")
        return BackupRequest(path: path)
    }
}

/// Reply to `backup` (type `backupDone`, 0x8051). Layout: `bytes u64 | elapsedMillis u64 |
/// sessions u64 | blocks u64`.
public struct BackupReply: WireBody {
    /// Size of the written `data.mdb`, bytes.
    public var bytes: UInt64
    /// Wall time of the copy, milliseconds.
    public var elapsedMillis: UInt64
    /// Sessions in the copy.
    public var sessions: UInt64
    /// Distinct blocks in the copy.
    public var blocks: UInt64

    /// Creates the reply.
    public init(bytes: UInt64, elapsedMillis: UInt64, sessions: UInt64, blocks: UInt64) {
        self.bytes = bytes
        self.elapsedMillis = elapsedMillis
        self.sessions = sessions
        self.blocks = blocks
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u64(bytes)
        w.u64(elapsedMillis)
        w.u64(sessions)
        w.u64(blocks)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> BackupReply {
        let bytes = try r.u64("backupDone.bytes")
        let elapsed = try r.u64("backupDone.elapsedMillis")
        let sessions = try r.u64("backupDone.sessions")
        let blocks = try r.u64("backupDone.blocks")
        try r.expectEnd("backupDone")
        return BackupReply(bytes: bytes, elapsedMillis: elapsed, sessions: sessions, blocks: blocks)
    }
}

/// Describe one session in detail without opening (pinning) it (type `inspectSession`,
/// 0x0052). Layout: `name` (as ``SessionRequest``). Visible sessions only: another uid's
/// session is `sessionNotFound` unless the caller is an administrator.
public typealias InspectSessionRequest = SessionRequest

/// Reply to `inspectSession` (type `sessionDetail`, 0x8052). Layout: `SessionInfo |
/// openConnections u32 | sharedBlocks u64 | rawBytes u64 | layerStoredBytes u64 × layerCount`
/// (layerCount = info.descriptor.layers).
public struct SessionDetail: WireBody {
    /// The session (as `sessionInfo`).
    public var info: SessionInfo
    /// Connections holding the session open (pinned against eviction while > 0).
    public var openConnections: UInt32
    /// Block references of this session whose block is also referenced elsewhere (forks).
    public var sharedBlocks: UInt64
    /// Uncompressed payload bytes of the session's block references.
    public var rawBytes: UInt64
    /// Compressed payload bytes per layer (count = info.descriptor.layers; sums to
    /// info.storedBytes).
    public var layerStoredBytes: [UInt64]

    /// Creates the reply.
    public init(info: SessionInfo, openConnections: UInt32, sharedBlocks: UInt64, rawBytes: UInt64, layerStoredBytes: [UInt64]) {
        self.info = info
        self.openConnections = openConnections
        self.sharedBlocks = sharedBlocks
        self.rawBytes = rawBytes
        self.layerStoredBytes = layerStoredBytes
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        guard layerStoredBytes.count == info.descriptor.layers else {
            throw ProtocolError(.badArgument, "sessionDetail: \(layerStoredBytes.count) layer sizes for \(info.descriptor.layers) layers")
        }
        try info.encode(into: &w)
        w.u32(openConnections)
        w.u64(sharedBlocks)
        w.u64(rawBytes)
        for bytes in layerStoredBytes { w.u64(bytes) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> SessionDetail {
        let info = try SessionInfo.decodeElement(from: &r)
        let open = try r.u32("sessionDetail.openConnections")
        let shared = try r.u64("sessionDetail.sharedBlocks")
        let raw = try r.u64("sessionDetail.rawBytes")
        let n = try r.checkCount(UInt32(info.descriptor.layers), "sessionDetail.layerStoredBytes", limit: UInt32(ModelDescriptor.maxLayers), minimumElementBytes: 8)
        var layers: [UInt64] = []
        layers.reserveCapacity(n)
        for _ in 0..<n { layers.append(try r.u64("sessionDetail.layerStoredBytes")) }
        try r.expectEnd("sessionDetail")
        return SessionDetail(info: info, openConnections: open, sharedBlocks: shared, rawBytes: raw, layerStoredBytes: layers)
    }
}
