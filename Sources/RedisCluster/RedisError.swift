/// What a Redis Cluster operation failed with. Each case has a stable numeric ``code`` (for logs,
/// metrics and tests; never sent on kvd's wire).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A seed or node address is not `host:port` with a port in 1…65535, or the list is empty.
    case invalidAddress(String)
    /// No connection to `endpoint` (refused, unreachable, name not resolved, connect timeout).
    case connectFailed(endpoint: RedisEndpoint, reason: String)
    /// An established connection failed or was closed by the server mid-command.
    case connectionLost(endpoint: RedisEndpoint, reason: String)
    /// The server did not answer within the command timeout.
    case timeout(endpoint: RedisEndpoint)
    /// The server sent bytes that are not RESP (hiredis's reader refused them).
    case protocolError(endpoint: RedisEndpoint, reason: String)
    /// `AUTH` was refused (wrong password or user), or the server requires one and none is set.
    case authenticationFailed(endpoint: RedisEndpoint, message: String)
    /// No node reachable from the seeds answered `CLUSTER SLOTS` with a full slot map.
    case topologyUnavailable(reason: String)
    /// The slot of a key has no master in the map (the cluster is down or resharding), still so
    /// when the retry budget ran out.
    case clusterDown(message: String)
    /// More `MOVED`/`ASK` redirections for one command than the configured limit.
    case tooManyRedirections(command: String)
    /// The server answered the command with an error reply other than a redirection or a
    /// transient cluster state (e.g. `WRONGTYPE`, `OOM`).
    case server(message: String)
    /// `WAIT` reported fewer replicas holding the writes than required before its timeout: the
    /// writes reached the master but would not survive its failover.
    case notReplicated(endpoint: RedisEndpoint, acknowledged: Int, required: Int)
    /// The reply does not have the shape the command promises (e.g. `CLUSTER SLOTS` garbled).
    case unexpectedReply(String)
    /// The client was closed.
    case closed
    /// TLS failed: the node's certificate did not verify (unknown authority, another name,
    /// expired), the handshake or a record was refused (a node without TLS, a client
    /// certificate required), or — `endpoint` nil — the configuration's files cannot be used.
    case tls(endpoint: RedisEndpoint?, reason: String)

    /// Stable numeric code.
    public var code: UInt16 {
        switch self {
        case .invalidAddress: 1
        case .connectFailed: 2
        case .connectionLost: 3
        case .timeout: 4
        case .protocolError: 5
        case .authenticationFailed: 6
        case .topologyUnavailable: 7
        case .clusterDown: 8
        case .tooManyRedirections: 9
        case .server: 10
        case .notReplicated: 11
        case .unexpectedReply: 12
        case .closed: 13
        case .tls: 14
        }
    }

    /// Whether another attempt (after a topology refresh and a pause) may succeed: the node or
    /// the cluster may come back, a replica may be promoted.
    public var isTransient: Bool {
        switch self {
        case .connectFailed, .connectionLost, .timeout, .topologyUnavailable, .clusterDown, .notReplicated: true
        case .invalidAddress, .protocolError, .authenticationFailed, .tooManyRedirections, .server, .unexpectedReply, .closed, .tls: false
        }
    }

    public var description: String {
        switch self {
        case .invalidAddress(let text): "invalid Redis address \"\(text)\" (want host:port[,host:port…])"
        case .connectFailed(let endpoint, let reason): "cannot connect to Redis node \(endpoint): \(reason)"
        case .connectionLost(let endpoint, let reason): "connection to Redis node \(endpoint) lost: \(reason)"
        case .timeout(let endpoint): "Redis node \(endpoint) did not answer in time"
        case .protocolError(let endpoint, let reason): "Redis node \(endpoint) sent a malformed reply: \(reason)"
        case .authenticationFailed(let endpoint, let message): "Redis node \(endpoint) refused authentication: \(message)"
        case .topologyUnavailable(let reason): "no Redis Cluster node gave the slot map: \(reason)"
        case .clusterDown(let message): "the Redis Cluster is down: \(message)"
        case .tooManyRedirections(let command): "too many cluster redirections for \(command)"
        case .server(let message): "Redis error: \(message)"
        case .notReplicated(let endpoint, let acknowledged, let required):
            "Redis node \(endpoint): writes reached \(acknowledged) replica\(acknowledged == 1 ? "" : "s"), \(required) required"
        case .unexpectedReply(let what): "unexpected Redis reply: \(what)"
        case .closed: "the Redis Cluster client is closed"
        case .tls(let endpoint?, let reason): "TLS to Redis node \(endpoint) failed: \(reason)"
        case .tls(nil, let reason): "Redis TLS configuration: \(reason)"
        }
    }
}
