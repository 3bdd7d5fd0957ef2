import Foundation
import Glibc
import RedisCluster
import Synchronization

/// A real Redis Cluster on loopback: `masters × (1 + replicasPerMaster)` `redis-server`
/// processes (Debian's redis-server) in a temporary directory, joined by `redis-cli --cluster
/// create`, with a short `cluster-node-timeout` so a replica takes over a killed master within
/// seconds. Persistence is off (the tier's durability is replication, as in the tests' claims).
///
/// `stop()` kills every node and removes the directory; forgetting it leaves processes behind
/// until the test process exits (each node is started with `--daemonize no` as a child).
public final class LocalRedisCluster: Sendable {
    /// The directory holding each node's `nodes-PORT.conf` and log.
    public let root: String
    /// Every node's port (the cluster bus is port + 10000).
    public let ports: [Int]
    /// The password every node requires (`requirepass`, `masterauth`); nil for none.
    public let password: String?
    private let nodeTimeoutMilliseconds: Int
    private let processes = Mutex<[Int: Process]>([:])

    /// Every node as a seed.
    public var seeds: [RedisEndpoint] { ports.map { RedisEndpoint(host: "127.0.0.1", port: $0) } }

    /// Starts the nodes, creates the cluster and waits (≤ 60 s) until every node reports
    /// `cluster_state:ok` and knows every other node.
    public init(masters: Int = 3, replicasPerMaster: Int = 1, password: String? = nil, nodeTimeoutMilliseconds: Int = 1000) throws {
        guard Self.which("redis-server") != nil, Self.which("redis-cli") != nil else {
            throw LocalRedisClusterError(description: "redis-server and redis-cli are needed (Debian: apt install redis-server redis-tools; scripts/setup.sh does)")
        }
        root = NSTemporaryDirectory() + "redis-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.password = password
        self.nodeTimeoutMilliseconds = nodeTimeoutMilliseconds
        ports = try Self.freePorts(masters * (1 + replicasPerMaster))
        do {
            for port in ports { try start(port: port) }
            for port in ports { try waitForAnswer(port: port) }
            let create = try cli(port: ports[0], ["--cluster", "create"] + ports.map { "127.0.0.1:\($0)" }
                + ["--cluster-replicas", String(replicasPerMaster), "--cluster-yes"])
            guard create.status == 0 else { throw LocalRedisClusterError(description: "redis-cli --cluster create failed: \(create.output)") }
            try waitUntilHealthy()
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Starts (or restarts, with its saved cluster configuration) the node on `port`.
    public func start(port: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.which("redis-server")!)
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no",
            "--dir", root, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf",
            "--cluster-node-timeout", String(nodeTimeoutMilliseconds), "--cluster-replica-validity-factor", "0",
            "--save", "", "--appendonly", "no", "--logfile", "\(root)/redis-\(port).log",
        ]
        if let password { arguments += ["--requirepass", password, "--masterauth", password] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        processes.withLock { $0[port] = process }
    }

    /// SIGKILLs the node on `port` (a crash: no shutdown, no save) and waits for it to exit.
    public func kill(port: Int) {
        guard let process = processes.withLock({ $0.removeValue(forKey: port) }) else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGSTOPs or SIGCONTs every node: the whole cluster unreachable (connections hang) and back.
    public func pauseAll(_ paused: Bool) {
        for process in processes.withLock({ Array($0.values) }) {
            Glibc.kill(process.processIdentifier, paused ? SIGSTOP : SIGCONT)
        }
    }

    /// Kills every node and removes `root`.
    public func stop() {
        for port in processes.withLock({ Array($0.keys) }) { kill(port: port) }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs `redis-cli -p port [-a password] arguments…`.
    public func cli(port: Int, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.which("redis-cli")!)
        process.arguments = ["-h", "127.0.0.1", "-p", String(port)] + (password.map { ["-a", $0, "--no-auth-warning"] } ?? []) + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The ports of the replicas of the master on `port` (`CLUSTER NODES` of that master).
    public func replicas(ofMaster port: Int) throws -> [Int] {
        let id = try cli(port: port, ["cluster", "myid"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        // "<id> <ip:port@bus> <flags> <master id> …"
        return try cli(port: port, ["cluster", "nodes"]).output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[2].contains("slave"), fields[3] == id,
                let address = fields[1].split(separator: "@").first, let port = address.split(separator: ":").last
            else { return nil }
            return Int(port)
        }
    }

    /// Waits (≤ `seconds`) until every live node reports `cluster_state:ok` with all slots
    /// served, and every live replica's link to its master is up.
    public func waitUntilHealthy(seconds: Double = 60) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            let live = processes.withLock { Array($0.keys) }
            var healthy = true
            for port in live {
                let info = (try? cli(port: port, ["cluster", "info"]).output) ?? ""
                if !info.contains("cluster_state:ok") || !info.contains("cluster_slots_ok:16384") {
                    healthy = false
                    last = "node \(port): \(info.split(separator: "\n").prefix(3).joined(separator: " "))"
                    break
                }
                // A replica serves failover only once its initial synchronisation is done.
                let replication = (try? cli(port: port, ["info", "replication"]).output) ?? ""
                if replication.contains("role:slave") && !replication.contains("master_link_status:up") {
                    healthy = false
                    last = "replica \(port) not in sync with its master"
                    break
                }
            }
            if healthy { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw LocalRedisClusterError(description: "the cluster did not become healthy in \(seconds) s (\(last))")
    }

    private func waitForAnswer(port: Int) throws {
        for _ in 0..<300 {
            if let result = try? cli(port: port, ["ping"]), result.output.contains("PONG") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw LocalRedisClusterError(description: "redis-server on port \(port) did not answer (log: \(root)/redis-\(port).log)")
    }

    /// `count` ports p whose p and p + 10000 (the cluster bus) are free on 127.0.0.1.
    private static func freePorts(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        var candidate = 20000 + Int.random(in: 0..<20000)
        var tries = 0
        while ports.count < count {
            tries += 1
            guard tries < 10_000 else { throw LocalRedisClusterError(description: "no free loopback ports") }
            candidate = candidate >= 40000 ? 20000 : candidate + 1
            if isFree(candidate) && isFree(candidate + 10000) { ports.append(candidate) }
        }
        return ports
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func which(_ program: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }
}

/// The local cluster could not be started.
public struct LocalRedisClusterError: Error, CustomStringConvertible {
    public let description: String
}
