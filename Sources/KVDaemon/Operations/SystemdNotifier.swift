#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The sd_notify protocol, implemented without libsystemd: one datagram of `KEY=value` lines
/// sent to the `AF_UNIX` datagram socket named by `$NOTIFY_SOCKET`.
///
/// kvd sends `READY=1` once the store is open and the socket accepts connections (systemd's
/// `Type=notify`), `STATUS=…` with a one-line human-readable state, `RELOADING=1` … `READY=1`
/// around a SIGHUP reload, and `STOPPING=1` when the graceful shutdown starts.
///
/// `NOTIFY_SOCKET` is either a filesystem path (`/run/systemd/notify`) or, when it starts with
/// `@`, a Linux abstract socket name (the `@` stands for the leading NUL byte; the name is not
/// NUL-terminated). Without `NOTIFY_SOCKET` there is nothing to notify (`init` returns nil).
public struct SystemdNotifier: Sendable {
    /// The socket address as given in `NOTIFY_SOCKET`.
    public let address: String

    /// A notifier for `environment["NOTIFY_SOCKET"]`; nil when the variable is unset or empty.
    public init?(environment: [String: String]) {
        guard let address = environment["NOTIFY_SOCKET"], !address.isEmpty else { return nil }
        self.address = address
    }

    /// A notifier for an explicit socket address (path, or `@name` for an abstract socket).
    public init(address: String) {
        self.address = address
    }

    /// Sends one notification: `fields` joined with newlines (`["READY=1", "STATUS=serving"]`).
    /// Throws `SystemdNotifierError` when the address is unusable or the datagram cannot be sent
    /// (systemd not listening); kvd logs that and goes on serving.
    public func notify(_ fields: [String]) throws(SystemdNotifierError) {
        let message = Array(fields.joined(separator: "\n").utf8)
        var name = Array(address.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard name.count > (abstract ? 1 : 0), name.count < capacity else {
            throw .invalidAddress(address)
        }
        guard abstract || name.first == UInt8(ascii: "/") else { throw .invalidAddress(address) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        defer { close(fd) }

        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in raw.copyBytes(from: name) }
        // A path is NUL-terminated (the struct is zero-filled); an abstract name's length is exact.
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let length = socklen_t(pathOffset + name.count + (abstract ? 0 : 1))
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &socketAddress) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        guard sent == message.count else { throw .system(operation: "sendto", errno: errno) }
    }
}

/// Why a systemd notification could not be sent. Codes are stable.
public enum SystemdNotifierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `NOTIFY_SOCKET` is neither an absolute path nor `@name`, or is too long for `sockaddr_un`.
    case invalidAddress(String)
    /// A system call failed.
    case system(operation: String, errno: Int32)

    /// Stable numeric code.
    public var code: UInt16 {
        switch self {
        case .invalidAddress: 1
        case .system: 2
        }
    }

    public var description: String {
        switch self {
        case .invalidAddress(let address): "NOTIFY_SOCKET \(address) is not an absolute path or @abstract name that fits sockaddr_un"
        case .system(let operation, let errno): "sd_notify: \(operation) failed: errno \(errno)"
        }
    }
}
