import Foundation
import RedisTestSupport
import Testing
@testable import RedisCluster

/// The client over TLS against real redis-server nodes that speak only TLS.
@Suite("Redis Cluster client over TLS", .serialized)
struct RedisTLSTests {
    private static func client(
        _ cluster: LocalRedisCluster, tls: RedisTLSConfiguration?, _ configure: (inout RedisClusterConfiguration) -> Void = { _ in }
    ) throws -> RedisCluster {
        var configuration = cluster.clientConfiguration
        configuration.tls = tls
        configure(&configuration)
        return try RedisCluster(configuration: configuration)
    }

    @Test("over TLS, values from 1 byte to 4 MiB pipelined over the three masters (replicated, WAIT over TLS too) read back byte for byte")
    func roundTrips() async throws {
        let cluster = try LocalRedisCluster(tls: true)
        defer { cluster.stop() }
        let redis = try Self.client(cluster, tls: cluster.clientTLS)
        defer { redis.close() }
        let lengths = [1, 100, 16 << 10, 128 << 10, 1 << 20, 4 << 20]
        let keys = (0..<60).map { "tls:\($0)" }
        let values = keys.indices.map { LocalRedisCluster.value($0, length: lengths[$0 % lengths.count]) }
        for result in await redis.pipeline(zip(keys, values).map { RedisCommand("SET", [Array($0.utf8), $1]) }, replicas: 1) {
            #expect(try result.get() == .status("OK"))
        }
        let read = await redis.pipeline(keys.map { RedisCommand(["GET", $0]) })
        for (index, result) in read.enumerated() {
            #expect(try result.get().bytes == values[index], "key \(index)")
        }
        #expect(redis.masters.count == 3)
        #expect(redis.stats().bytesReceived > UInt64(values.reduce(0) { $0 + $1.count }))
    }

    @Test("a node certificate of another authority, another name, or no client certificate where one is required: a TLS error at once, not retried")
    func refusals() async throws {
        let cluster = try LocalRedisCluster(masters: 3, replicasPerMaster: 0, tls: true)
        defer { cluster.stop() }
        let certificates = try #require(cluster.certificates)
        let wrongAuthority = RedisTLSConfiguration(
            caFile: certificates.otherCAFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)
        var wrongName = try #require(cluster.clientTLS)
        wrongName.serverName = "redis.example.org"
        let noClientCertificate = RedisTLSConfiguration(caFile: certificates.caFile)
        for (tls, expected) in [(wrongAuthority, "certificate verification failed"), (wrongName, "certificate verification failed"), (noClientCertificate, "certificate required")] {
            let redis = try Self.client(cluster, tls: tls) { $0.retryTimeout = .seconds(20) }
            defer { redis.close() }
            do {
                _ = try await redis.send(RedisCommand(["SET", "a", "1"]))
                Issue.record("\(tls) was accepted")
            } catch {
                guard case .tls(let endpoint, let reason) = error else {
                    Issue.record("\(tls): \(error)")
                    continue
                }
                #expect(endpoint != nil && reason.contains(expected), "\(reason)")
                #expect(!error.isTransient && error.code == 14)
            }
            #expect(redis.stats().retries == 0, "a TLS refusal (\(expected)) was retried")
        }
        // The name given explicitly: a certificate for localhost reached at 127.0.0.1.
        var byName = try #require(cluster.clientTLS)
        byName.serverName = "localhost"
        let named = try Self.client(cluster, tls: byName)
        defer { named.close() }
        #expect(try await named.send(RedisCommand(["SET", "a", "1"])) == .status("OK"))

        // A client in the clear gets no answer from a TLS node; it fails within its budget.
        let plain = try Self.client(cluster, tls: nil) { $0.retryTimeout = .seconds(1) }
        defer { plain.close() }
        await #expect(throws: RedisError.self) { _ = try await plain.send(RedisCommand(["GET", "a"])) }
    }

    @Test("a TLS client to nodes in the clear fails within its budget naming the handshake; unusable files are refused when the client is made")
    func configurationErrors() async throws {
        let cluster = try LocalRedisCluster(masters: 3, replicasPerMaster: 0)
        defer { cluster.stop() }
        let directory = NSTemporaryDirectory() + "tls-certificates-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificates = try TestCertificates(directory: directory)
        // A node in the clear waits for the end of a command that never comes: indistinguishable
        // from a node that hangs, so transient, and the error says what to check.
        let redis = try Self.client(cluster, tls: RedisTLSConfiguration(caFile: certificates.caFile)) {
            $0.retryTimeout = .seconds(2)
            $0.connectTimeout = .milliseconds(500)
        }
        defer { redis.close() }
        let started = ContinuousClock.now
        do {
            _ = try await redis.send(RedisCommand(["GET", "a"]))
            Issue.record("a node in the clear answered over TLS")
        } catch {
            #expect("\(error)".contains("does the node serve TLS"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(20), "not within its budget (2 s; the bound leaves room for a loaded machine)")

        for (tls, file) in [
            (RedisTLSConfiguration(caFile: "\(directory)/missing.crt"), "missing.crt"),
            (RedisTLSConfiguration(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile), "key"),
            (RedisTLSConfiguration(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.serverKeyFile),
             "client key"),
        ] {
            do {
                _ = try Self.client(cluster, tls: tls)
                Issue.record("\(tls) was taken")
            } catch {
                guard let error = error as? RedisError, case .tls(nil, let reason) = error else {
                    Issue.record("\(tls): \(error)")
                    continue
                }
                #expect(reason.contains(file), "\(reason)")
            }
        }
    }
}
