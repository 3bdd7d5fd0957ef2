/// A Redis node's address: host name or IP literal and TCP port.
public struct RedisEndpoint: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (`[v6]:port` for an IPv6 literal; an optional `redis://` prefix).
    /// Throws ``RedisError/invalidAddress(_:)``.
    public init(parsing text: String) throws(RedisError) {
        var rest = Substring(text)
        if rest.hasPrefix("redis://") { rest = rest.dropFirst("redis://".count) }
        let host: Substring, portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw .invalidAddress(text)
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw .invalidAddress(text) }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        // Redis reports a node whose address it does not know as ":port"; callers substitute.
        guard let port = Int(portText), (1...65535).contains(port), !host.contains("/") else { throw .invalidAddress(text) }
        self.init(host: String(host), port: port)
    }

    /// Parses a seed list: `redis://h1:p1,h2:p2`, `rediss://…` (the same nodes over TLS:
    /// ``usesTLS(_:)``) or `h1:p1,h2:p2` (at least one).
    public static func parseList(_ text: String) throws(RedisError) -> [RedisEndpoint] {
        var body = Substring(text)
        if let scheme = ["redis://", "rediss://"].first(where: { body.hasPrefix($0) }) { body = body.dropFirst(scheme.count) }
        let parts = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { throw .invalidAddress(text) }
        var endpoints: [RedisEndpoint] = []
        for part in parts { endpoints.append(try RedisEndpoint(parsing: String(part))) }
        return endpoints
    }

    /// Whether a seed list names the TLS scheme, `rediss://`.
    public static func usesTLS(_ text: String) -> Bool { text.hasPrefix("rediss://") }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
