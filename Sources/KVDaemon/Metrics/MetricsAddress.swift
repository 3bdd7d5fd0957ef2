/// Where the Prometheus endpoint listens: a Unix-domain socket or a loopback TCP port.
///
/// Spelled `unix:/run/kvd/metrics.sock` or `tcp:127.0.0.1:9464` (`tcp:[::1]:9464`,
/// `tcp:localhost:9464`). Only loopback TCP addresses are accepted: the endpoint has no
/// authentication, so it is never exposed beyond the machine (put a proxy in front to scrape
/// from elsewhere).
public enum MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// A Unix-domain socket at this path (≤ 107 bytes).
    case unix(path: String)
    /// A loopback TCP address (`127.x.y.z`, `::1` or `localhost`) and port (1…65535).
    case tcp(host: String, port: Int)

    /// Parses `unix:PATH` or `tcp:HOST:PORT`; throws `DaemonError.invalidConfiguration` naming
    /// the `metrics` option otherwise.
    public init(parsing text: String) throws(DaemonError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/"), path.utf8.count <= SocketFile.maximumPathLength else {
                throw .invalidConfiguration("metrics: \(text): expected unix:/absolute/path of at most \(SocketFile.maximumPathLength) bytes")
            }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst(4)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw .invalidConfiguration("metrics: \(text): expected tcp:HOST:PORT with a port 1…65535")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard host == "localhost" || host == "::1" || host.hasPrefix("127.") else {
                throw .invalidConfiguration("metrics: \(text): only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed")
            }
            self = .tcp(host: host, port: port)
        } else {
            throw .invalidConfiguration("metrics: \(text): expected unix:PATH or tcp:HOST:PORT")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        }
    }
}
