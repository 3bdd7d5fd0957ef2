#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The uid map of the user namespace kvd runs in (`/proc/self/uid_map`), and whether kvd can
/// tell its peers apart in it.
///
/// Sessions are owned by the peer's uid as the kernel reports it (`SO_PEERCRED`, translated into
/// kvd's user namespace). A uid that the namespace does not map is reported as the overflow uid
/// (`/proc/sys/kernel/overflowuid`, 65534), so every such peer would look like one user and share
/// one owner. The initial namespace maps every uid (`0 0 4294967295`); a namespace made by
/// systemd's `PrivateUsers=yes` or `unshare -U` maps a few.
public struct UserNamespaceMap: Sendable, Equatable {
    /// One line of `uid_map`: uids `inside ..< inside + count` of the namespace are uids
    /// `outside ..< outside + count` of the parent namespace.
    public struct Extent: Sendable, Equatable {
        public var inside: UInt32
        public var outside: UInt32
        /// Number of uids (≥ 1; at most 4294967295).
        public var count: UInt32
        public init(inside: UInt32, outside: UInt32, count: UInt32) {
            self.inside = inside
            self.outside = outside
            self.count = count
        }
    }

    /// Number of uids a namespace must map so that no peer can appear as the overflow uid:
    /// 2³² − 1 (uid 4294967295 is `(uid_t) -1` and never a real uid).
    public static let fullRange: UInt64 = 4_294_967_295

    /// The extents in file order (the kernel allows at most 340, without overlaps).
    public let extents: [Extent]

    /// Parses the text of a `uid_map` file: lines of three unsigned decimal fields separated by
    /// blanks. Throws `DaemonError.invalidConfiguration` naming the line for anything else.
    public init(parsing text: String) throws(DaemonError) {
        var extents: [Extent] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            guard fields.count == 3, let inside = UInt32(fields[0]), let outside = UInt32(fields[1]),
                  let count = UInt32(fields[2]), count > 0
            else {
                throw DaemonError.invalidConfiguration("uid_map line \(number + 1) is not `inside outside count`: \(line)")
            }
            extents.append(Extent(inside: inside, outside: outside, count: count))
        }
        self.extents = extents
    }

    /// Number of uids the namespace maps (0 … 2³² − 1).
    public var mappedUIDs: UInt64 { extents.reduce(0) { $0 + UInt64($1.count) } }

    /// Whether every uid of the parent namespace has a uid here, so `SO_PEERCRED` tells every
    /// peer apart (true for the initial namespace).
    public var mapsEveryUID: Bool { mappedUIDs >= Self.fullRange }

    /// The map of kvd's own namespace, or nil when the kernel has no user namespaces (no
    /// `/proc/self/uid_map`: then every uid is the initial namespace's). Throws
    /// `DaemonError.invalidConfiguration` when the file exists but cannot be read or parsed.
    public static func current(path: String = "/proc/self/uid_map") throws(DaemonError) -> UserNamespaceMap? {
        let text: String
        do {
            guard let read = try readSmallFile(path) else { return nil }
            text = read
        } catch {
            throw DaemonError.invalidConfiguration("cannot read \(path) (errno \(error.code)) to check that peers can be told apart")
        }
        return try UserNamespaceMap(parsing: text)
    }

    /// The overflow uid of this kernel (`/proc/sys/kernel/overflowuid`; 65534 when unreadable).
    public static func overflowUID(path: String = "/proc/sys/kernel/overflowuid") -> UInt32 {
        let text = (try? readSmallFile(path)) ?? nil
        return text.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\n" }).first }.flatMap { UInt32($0) } ?? 65534
    }

    /// Refuses (throws `DaemonError.partialUserNamespace`) a namespace that does not map every
    /// uid, unless `allowPartial`; returns whether the map is partial (then the caller should
    /// warn that all peers outside the map share the overflow uid's sessions).
    @discardableResult
    public func check(allowPartial: Bool, overflowUID: UInt32 = 65534) throws(DaemonError) -> Bool {
        if mapsEveryUID { return false }
        if allowPartial { return true }
        throw DaemonError.partialUserNamespace(mappedUIDs: mappedUIDs, overflowUID: overflowUID)
    }
}

/// An errno.
struct SystemCallError: Error {
    let code: Int32
}

/// The whole content of a small (≤ 64 KiB) file of /proc, read with one `read`-loop; nil when it
/// does not exist.
private func readSmallFile(_ path: String) throws(SystemCallError) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        let code = errno
        if code == ENOENT { return nil }
        throw SystemCallError(code: code)
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 65536 {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(code: errno)
        }
        bytes += chunk[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
