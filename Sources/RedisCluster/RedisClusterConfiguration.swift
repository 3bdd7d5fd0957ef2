/// How a ``RedisCluster`` client connects and how long it keeps trying.
public struct RedisClusterConfiguration: Sendable {
    /// Nodes to ask for the slot map first (any node of the cluster; at least one).
    public var seeds: [RedisEndpoint]
    /// `AUTH` user (Redis 6 ACL); nil for the default user.
    public var username: String?
    /// `AUTH` password; nil when the cluster has none (`requirepass`).
    public var password: String?
    /// TLS to every node (Redis's `tls-port` with `tls-cluster yes`); nil: plain TCP.
    public var tls: RedisTLSConfiguration?
    /// Time allowed for a TCP connect (and the TLS handshake).
    public var connectTimeout: Duration = .seconds(2)
    /// Time allowed for one round trip: a pipelined batch written and every reply read.
    public var commandTimeout: Duration = .seconds(10)
    /// Total time a command keeps being retried across failures a failover or a restart
    /// explains (node unreachable, `CLUSTERDOWN`, `TRYAGAIN`, a slot without a master, writes not
    /// yet replicated); then the last such error is returned. Redis's own failover takes
    /// `cluster-node-timeout` (default 15 s) plus an election.
    public var retryTimeout: Duration = .seconds(30)
    /// `MOVED`/`ASK` redirections allowed for one command.
    public var maxRedirections = 16
    /// Idle connections kept per node for the next batch.
    public var maxIdleConnectionsPerNode = 4
    /// How long `WAIT` waits for replicas in ``RedisCluster/pipeline(_:replicas:)`` (less than
    /// `commandTimeout`).
    public var replicationTimeout: Duration = .seconds(2)

    public init(seeds: [RedisEndpoint]) {
        self.seeds = seeds
    }
}
