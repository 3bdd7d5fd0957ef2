import CoreTypes
import Foundation
import RedisCluster

/// The shared tier behind kvd's store (docs/TIER.md): a Redis Cluster that acknowledged blocks
/// are written behind to.
public struct RemoteTierConfiguration: Sendable {
    /// The cluster's seed nodes (`--remote redis://HOST:PORT[,HOST:PORT…]`).
    public var seeds: [RedisEndpoint]
    /// `AUTH` user and password (`--remote-user`, `--remote-password`; best from the
    /// configuration file or `KVD_REMOTE_PASSWORD`, not the command line). Default none.
    public var username: String? = nil
    public var password: String? = nil
    /// TLS to the cluster (`--remote rediss://…` or `--remote-tls`, with `--remote-tls-ca`,
    /// `--remote-tls-cert`, `--remote-tls-key`, `--remote-tls-server-name`); nil: plain TCP.
    public var tls: RedisTLSConfiguration? = nil
    /// Replicas that must hold an upload before it leaves the queue (`WAIT`; `--remote-replicas`,
    /// default 1; 0 for a cluster without replicas).
    public var replicas: Int = 1
    /// The first part of every key kvd writes (`--remote-prefix`, default `kvd`): several
    /// deployments may share a cluster under different prefixes.
    public var keyPrefix: String = "kvd"
    /// Stored bytes per upload batch (one pipelined round trip per master). Default 8 MiB.
    public var batchBytes: Int = 8 << 20
    /// How long opening a session this node does not hold waits for a cluster that does not
    /// answer before the node answers from its own store alone (`sessionNotFound`). Default 3 s.
    public var readTimeout: Duration = .seconds(3)

    public init(seeds: [RedisEndpoint]) {
        self.seeds = seeds
    }

    // The cluster's key layout (docs/TIER.md "What lives in the cluster"), in one place.

    /// The cluster key of a block's stored payload: `<prefix>:p:<block id, 32 hex digits>`.
    func payloadKey(_ id: BlockID) -> String { "\(keyPrefix):p:\(id)" }
    /// The cluster key of a session's manifest: `<prefix>:s:{<name>}:m` (the braces make every
    /// key of one session hash to one slot, so they live on one master).
    func manifestKey(_ name: String) -> String { "\(keyPrefix):s:{\(name)}:m" }
    /// A generation's representative keys of one layer: N × D float32 LE.
    func keysKey(_ name: String, generation: UInt64, layer: Int) -> String { "\(keyPrefix):s:{\(name)}:k:\(generation):\(layer)" }
    /// A generation's checkpoint slot bytes.
    func checkpointKey(_ name: String, generation: UInt64) -> String { "\(keyPrefix):s:{\(name)}:c:\(generation)" }

    /// Checks field ranges; throws `DaemonError.invalidConfiguration`.
    public func validate() throws(DaemonError) {
        if seeds.isEmpty { throw .invalidConfiguration("--remote needs at least one HOST:PORT") }
        if !(0...16).contains(replicas) { throw .invalidConfiguration("--remote-replicas \(replicas) is outside 0…16") }
        if keyPrefix.isEmpty || keyPrefix.contains(where: { $0 == "{" || $0 == "}" || $0 == " " }) {
            throw .invalidConfiguration("--remote-prefix \"\(keyPrefix)\": must be non-empty, without braces or spaces")
        }
        if batchBytes < 1 << 16 { throw .invalidConfiguration("remote batch bytes \(batchBytes) < 64 KiB") }
        if let tls {
            for (option, file) in [("--remote-tls-ca", tls.caFile), ("--remote-tls-cert", tls.certificateFile), ("--remote-tls-key", tls.keyFile)] {
                if let file, !FileManager.default.isReadableFile(atPath: file) {
                    throw .invalidConfiguration("\(option) \(file): no readable file there")
                }
            }
            if (tls.certificateFile == nil) != (tls.keyFile == nil) {
                throw .invalidConfiguration("--remote-tls-cert and --remote-tls-key go together")
            }
        }
    }

    /// The client's configuration.
    var client: RedisClusterConfiguration {
        var client = RedisClusterConfiguration(seeds: seeds)
        client.username = username
        client.password = password
        client.tls = tls
        return client
    }
}
