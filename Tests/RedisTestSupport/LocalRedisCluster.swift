import Foundation
import Glibc
import RedisCluster
import Synchronization

/// A real Redis Cluster on loopback: `masters × (1 + replicasPerMaster)` `redis-server`
/// processes (Debian's redis-server) in a temporary directory, joined by `redis-cli --cluster
/// create`, with a short `cluster-node-timeout` so a replica takes over a killed master within
/// seconds. Persistence is off (the tier's durability is replication, as in the tests' claims).
///
/// With `tls`, the nodes speak only TLS (`tls-port`, `tls-cluster yes`, `tls-replication yes`,
/// `tls-auth-clients yes`) with certificates made by `openssl` in the directory
/// (``TestCertificates``); ``clientTLS`` is what a client needs.
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
    /// The certificates of a TLS cluster; nil for one in the clear.
    public let certificates: TestCertificates?
    private let nodeTimeoutMilliseconds: Int
    private let processes = Mutex<[Int: Process]>([:])

    /// Every node as a seed.
    public var seeds: [RedisEndpoint] { ports.map { RedisEndpoint(host: "127.0.0.1", port: $0) } }

    /// A client's TLS settings for this cluster (its authority and a client certificate); nil
    /// for a cluster in the clear.
    public var clientTLS: RedisTLSConfiguration? {
        certificates.map { RedisTLSConfiguration(caFile: $0.caFile, certificateFile: $0.clientCertificateFile, keyFile: $0.clientKeyFile) }
    }

    /// Starts the nodes, creates the cluster and waits (≤ 60 s) until every node reports
    /// `cluster_state:ok` and knows every other node.
    public init(
        masters: Int = 3, replicasPerMaster: Int = 1, password: String? = nil, tls: Bool = false, nodeTimeoutMilliseconds: Int = 1000
    ) throws {
        guard Self.which("redis-server") != nil, Self.which("redis-cli") != nil else {
            throw LocalRedisClusterError(description: "redis-server and redis-cli are needed (Debian: apt install redis-server redis-tools; scripts/setup.sh does)")
        }
        root = NSTemporaryDirectory() + "redis-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.password = password
        self.nodeTimeoutMilliseconds = nodeTimeoutMilliseconds
        ports = try Self.freePorts(masters * (1 + replicasPerMaster))
        do {
            certificates = tls ? try TestCertificates(directory: root) : nil
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
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
        var arguments = (certificates.map { c in
            ["--port", "0", "--tls-port", String(port), "--tls-cluster", "yes", "--tls-replication", "yes", "--tls-auth-clients", "yes",
             "--tls-cert-file", c.serverCertificateFile, "--tls-key-file", c.serverKeyFile, "--tls-ca-cert-file", c.caFile]
        } ?? ["--port", String(port)]) + [
            "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no",
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

    /// Runs `redis-cli -p port [-a password] [--tls …] arguments…`.
    public func cli(port: Int, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Self.run(
            Self.which("redis-cli")!,
            ["-h", "127.0.0.1", "-p", String(port)] + (password.map { ["-a", $0, "--no-auth-warning"] } ?? [])
                + (certificates.map { ["--tls", "--cacert", $0.caFile, "--cert", $0.clientCertificateFile, "--key", $0.clientKeyFile] } ?? [])
                + arguments)
    }

    /// Runs `executable arguments…` to its end; its exit status and its output and errors together.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A client configuration for this cluster: its first node as the seed, its password and
    /// its client TLS settings.
    public var clientConfiguration: RedisClusterConfiguration {
        var configuration = RedisClusterConfiguration(seeds: [seeds[0]])
        configuration.password = password
        configuration.tls = clientTLS
        return configuration
    }

    /// `length` pseudo-random bytes of seed `index` (xorshift: every byte value, incompressible).
    public static func value(_ index: Int, length: Int) -> [UInt8] {
        var generator = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<length).map { _ in
            generator ^= generator << 13; generator ^= generator >> 7; generator ^= generator << 17
            return UInt8(truncatingIfNeeded: generator)
        }
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

/// Certificates for a TLS test cluster, made with the `openssl` command in `directory`: an
/// authority, a server certificate it signs for 127.0.0.1 and localhost (every node's), a
/// client certificate it signs, and a second authority that signed none of them.
public struct TestCertificates: Sendable {
    public let caFile: String
    public let serverCertificateFile: String
    public let serverKeyFile: String
    public let clientCertificateFile: String
    public let clientKeyFile: String
    /// An authority that did not sign the nodes' certificates (a client trusting only it must
    /// refuse them).
    public let otherCAFile: String

    public init(directory: String) throws {
        caFile = "\(directory)/ca.crt"
        serverCertificateFile = "\(directory)/server.crt"
        serverKeyFile = "\(directory)/server.key"
        clientCertificateFile = "\(directory)/client.crt"
        clientKeyFile = "\(directory)/client.key"
        otherCAFile = "\(directory)/other-ca.crt"
        guard let openssl = LocalRedisCluster.which("openssl") else {
            throw LocalRedisClusterError(description: "openssl is needed for a TLS cluster (Debian: apt install openssl; scripts/setup.sh does)")
        }
        let extensions = "\(directory)/san.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/ca.key", "-out", caFile, "-days", "2", "-subj", "/CN=actqkv test CA"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/other-ca.key", "-out", otherCAFile, "-days", "2", "-subj", "/CN=another CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", serverKeyFile, "-out", "\(directory)/server.csr", "-subj", "/CN=redis node"],
            ["x509", "-req", "-in", "\(directory)/server.csr", "-CA", caFile, "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
             "-out", serverCertificateFile, "-days", "2", "-extfile", extensions],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", clientKeyFile, "-out", "\(directory)/client.csr", "-subj", "/CN=kvd"],
            ["x509", "-req", "-in", "\(directory)/client.csr", "-CA", caFile, "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
             "-out", clientCertificateFile, "-days", "2"],
        ]
        for arguments in steps {
            let result = try LocalRedisCluster.run(openssl, arguments)
            guard result.status == 0 else {
                throw LocalRedisClusterError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.output)")
            }
        }
    }
}

/// The local cluster could not be started.
public struct LocalRedisClusterError: Error, CustomStringConvertible {
    public let description: String
}
