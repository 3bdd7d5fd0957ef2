import Foundation
import RedisTestSupport
import Synchronization
import Testing
@testable import RedisCluster

/// The client against a real Redis Cluster (3 masters with a replica each) started by the test.
@Suite("Redis Cluster client against real redis-server nodes", .serialized)
struct RedisClusterTests {
    private func client(_ cluster: LocalRedisCluster, password: String? = nil, _ configure: (inout RedisClusterConfiguration) -> Void = { _ in }) throws -> RedisCluster {
        var configuration = cluster.clientConfiguration
        configuration.password = password ?? cluster.password
        configure(&configuration)
        return try RedisCluster(configuration: configuration)
    }

    @Test("the slot of every key agrees with the cluster's own CLUSTER KEYSLOT")
    func slotsAgreeWithTheServer() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let redis = try client(cluster)
        defer { redis.close() }
        let keys = (0..<500).map { "kvd:blk:\($0 * 7919):{tag\($0 % 13)}x" } + ["", "{}", "{a}", "a{b}c{d}", "\u{00e9}t\u{00e9}"]
        let replies = await redis.pipeline(keys.map { RedisCommand(["CLUSTER", "KEYSLOT", $0], keyIndex: nil) })
        for (key, reply) in zip(keys, replies) {
            #expect(try reply.get() == .integer(Int64(HashSlot.of(key))), "\(key)")
        }
    }

    @Test("binary values written in one pipeline over every master read back byte for byte")
    func pipelinedWritesAndReads() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let redis = try client(cluster)
        defer { redis.close() }
        let lengths = (0..<1000).map { $0 == 0 ? 0 : $0 == 1 ? 1 << 20 : 1 + ($0 * 37) % 5000 }
        let writes = lengths.indices.map { RedisCommand("SET", [Array("k\($0)".utf8), LocalRedisCluster.value($0, length: lengths[$0])]) }
        for result in await redis.pipeline(writes, replicas: 1) {
            #expect(try result.get() == .status("OK"))
        }
        let reads = await redis.pipeline(lengths.indices.map { RedisCommand(["GET", "k\($0)"]) })
        for (index, result) in reads.enumerated() {
            #expect(try result.get() == .bulk(LocalRedisCluster.value(index, length: lengths[index])), "k\(index)")
        }
        #expect(redis.masters.count == 3)
        let usedMasters = Set((0..<1000).compactMap { redis.master(servingSlot: HashSlot.of("k\($0)")) })
        #expect(usedMasters.count == 3)
        // A missing key, and a command's own error.
        #expect(try await redis.send(RedisCommand(["GET", "absent"])) == .null)
        await #expect(throws: RedisError.server(message: "WRONGTYPE Operation against a key holding the wrong kind of value")) {
            _ = try await redis.send(RedisCommand(["LPUSH", "k5", "x"]))
        }
        let stats = redis.stats()
        #expect(stats.bytesSent > 1 << 20 && stats.bytesReceived > 1 << 20)
        #expect(stats.redirections == 0)
    }

    @Test("a slot moved to another master is followed (MOVED) and the map updated; a key being migrated is followed once (ASK)")
    func redirections() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let redis = try client(cluster)
        defer { redis.close() }
        let key = "moving-key", slot = HashSlot.of(key)
        _ = try await redis.send(RedisCommand(["SET", key, "v1"]))
        _ = try await redis.send(RedisCommand(["SET", "{moving-key}second", "v2"]))
        let source = try #require(redis.master(servingSlot: slot))
        let target = try #require(redis.masters.first { $0 != source })
        let sourceID = try cluster.cli(port: source.port, ["cluster", "myid"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let targetID = try cluster.cli(port: target.port, ["cluster", "myid"]).output.trimmingCharacters(in: .whitespacesAndNewlines)

        // ASK: the slot is migrating and `key` already moved; the other key of the slot has not.
        #expect(try cluster.cli(port: target.port, ["cluster", "setslot", String(slot), "importing", sourceID]).output.contains("OK"))
        #expect(try cluster.cli(port: source.port, ["cluster", "setslot", String(slot), "migrating", targetID]).output.contains("OK"))
        let migrate = ["migrate", "127.0.0.1", String(target.port), key, "0", "5000"] + (cluster.password.map { ["auth", $0] } ?? [])
        #expect(try cluster.cli(port: source.port, migrate).output.contains("OK"))
        #expect(try await redis.send(RedisCommand(["GET", key])) == .bulk(Array("v1".utf8)))
        #expect(redis.stats().redirections == 1)
        #expect(redis.master(servingSlot: slot) == source)  // ASK does not change the map
        #expect(try await redis.send(RedisCommand(["GET", "{moving-key}second"])) == .bulk(Array("v2".utf8)))
        #expect(redis.stats().redirections == 1)

        // MOVED: finish the migration; every node is told the new owner.
        #expect(try cluster.cli(port: source.port, ["migrate", "127.0.0.1", String(target.port), "{moving-key}second", "0", "5000"]
            + (cluster.password.map { ["auth", $0] } ?? [])).output.contains("OK"))
        for port in cluster.ports {
            _ = try cluster.cli(port: port, ["cluster", "setslot", String(slot), "node", targetID])
        }
        #expect(try await redis.send(RedisCommand(["GET", key])) == .bulk(Array("v1".utf8)))
        #expect(redis.stats().redirections == 2)
        #expect(redis.master(servingSlot: slot) == target)
        #expect(try await redis.send(RedisCommand(["GET", "{moving-key}second"])) == .bulk(Array("v2".utf8)))
        #expect(redis.stats().redirections == 2)
    }

    @Test("a master killed mid-write: its replica takes over, and every write acknowledged with WAIT is there")
    func failoverKeepsReplicatedWrites() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let redis = try client(cluster)
        defer { redis.close() }
        try await redis.refreshTopology()
        let victim = try #require(redis.master(servingSlot: HashSlot.of("w0")))
        let replicas = try cluster.replicas(ofMaster: victim.port)
        #expect(replicas.count == 1)

        // Writes in batches of 50 over all masters, acknowledged once a replica holds them;
        // the master serving w0 is killed after the fifth batch, while the next are in flight.
        let acknowledged = Mutex<[Int]>([])
        let writer = Task {
            for batch in 0..<40 {
                let indices = Array(batch * 50..<(batch + 1) * 50)
                let results = await redis.pipeline(indices.map { RedisCommand("SET", [Array("w\($0)".utf8), LocalRedisCluster.value($0, length: 2000)]) }, replicas: 1)
                for (index, result) in zip(indices, results) where (try? result.get()) == .status("OK") {
                    acknowledged.withLock { $0.append(index) }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledged.withLock({ $0.count }) < 250 {
            try #require(ContinuousClock.now < deadline, "writes were not acknowledged: \(redis.stats())")
            try await Task.sleep(for: .milliseconds(5))
        }
        cluster.kill(port: victim.port)
        // The promoted replica has no replica of its own, so its shard's writes wait (WAIT 1
        // cannot succeed) until the killed node, restarted, rejoins as its replica.
        while try cluster.cli(port: replicas[0], ["role"]).output.hasPrefix("slave") {
            try #require(ContinuousClock.now < deadline, "the replica was not promoted")
            try await Task.sleep(for: .milliseconds(50))
        }
        try cluster.start(port: victim.port)
        await writer.value

        // Every write was acknowledged (within the retry budget) and is readable.
        #expect(acknowledged.withLock { $0.count } == 2000)
        try cluster.waitUntilHealthy()
        let reads = await redis.pipeline((0..<2000).map { RedisCommand(["GET", "w\($0)"]) })
        for (index, result) in reads.enumerated() {
            #expect(try result.get() == .bulk(LocalRedisCluster.value(index, length: 2000)), "w\(index)")
        }
        #expect(redis.master(servingSlot: HashSlot.of("w0")) == RedisEndpoint(host: "127.0.0.1", port: replicas[0]))
        #expect(try cluster.replicas(ofMaster: replicas[0]) == [victim.port])
        #expect(redis.stats().retries > 0)
    }

    @Test("with every node stopped a command fails with a transient error once its retry budget is spent — a node that accepted the connection but does not answer costs the budget, not the command timeout — and works once they are back")
    func clusterUnreachable() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let redis = try client(cluster) {
            $0.retryTimeout = .seconds(2)
            $0.commandTimeout = .seconds(60)
        }
        defer { redis.close() }
        _ = try await redis.send(RedisCommand(["SET", "a", "1"]))
        cluster.pauseAll(true)
        // The configuration's budget, then a shorter one of the call's own (kvd's reads).
        for budget in [nil, Duration.seconds(1)] {
            let started = ContinuousClock.now
            do {
                _ = try await redis.send(RedisCommand(["GET", "a"]), retryTimeout: budget)
                Issue.record("a stopped cluster answered")
            } catch {
                #expect(error.isTransient, "\(error)")
            }
            // Stopped nodes still accept connections (the kernel's backlog): only the budget
            // ends the wait, not the 60 s command timeout (the bound leaves room for a loaded
            // machine).
            #expect(ContinuousClock.now - started < .seconds(30))
        }
        cluster.pauseAll(false)
        #expect(try await redis.send(RedisCommand(["GET", "a"])) == .bulk(Array("1".utf8)))
    }

    @Test("a cluster with a password: the right one works, a wrong or missing one is an authentication error")
    func authentication() async throws {
        let cluster = try LocalRedisCluster(password: "s3cret")
        defer { cluster.stop() }
        let redis = try client(cluster)
        defer { redis.close() }
        _ = try await redis.send(RedisCommand(["SET", "a", "1"]))
        #expect(try await redis.send(RedisCommand(["GET", "a"])) == .bulk(Array("1".utf8)))
        for password in ["wrong", ""] {
            var configuration = RedisClusterConfiguration(seeds: cluster.seeds)
            configuration.password = password.isEmpty ? nil : password
            let other = try RedisCluster(configuration: configuration)
            defer { other.close() }
            do {
                _ = try await other.send(RedisCommand(["GET", "a"]))
                Issue.record("password \(password) was accepted")
            } catch {
                guard case .authenticationFailed = error else {
                    Issue.record("password \(password): \(error)")
                    continue
                }
            }
        }
    }

    @Test("seeds where nothing listens: a connect failure once the retry budget is spent")
    func nothingListening() async throws {
        var configuration = RedisClusterConfiguration(seeds: [RedisEndpoint(host: "127.0.0.1", port: 1)])
        configuration.retryTimeout = .milliseconds(500)
        let redis = try RedisCluster(configuration: configuration)
        do {
            _ = try await redis.send(RedisCommand(["GET", "a"]))
            Issue.record("answered")
        } catch {
            guard case .topologyUnavailable(let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(reason.contains("127.0.0.1:1"))
        }
        #expect(throws: RedisError.invalidAddress("")) { _ = try RedisCluster(configuration: RedisClusterConfiguration(seeds: [])) }
    }
}
