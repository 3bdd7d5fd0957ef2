import Testing
@testable import RedisCluster

@Suite("Hash slots and addresses")
struct HashSlotTests {
    @Test("CRC-16/XMODEM has its check value and the specification's example slots")
    func specificationVectors() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        // Values from `CLUSTER KEYSLOT` (the specification's examples and redis-cli).
        #expect(HashSlot.of("foo") == 12182)
        #expect(HashSlot.of("bar") == 5061)
        #expect(HashSlot.of("") == 0)
    }

    @Test("a hash tag routes by the span between the first { and the first } after it, when not empty")
    func hashTags() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("{user1000}.followers"))
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        // Empty tag: the whole key.
        #expect(HashSlot.of("foo{}{bar}") == Int(HashSlot.crc16(Array("foo{}{bar}".utf8))) & 16383)
        // The first } after the first {: "{bar".
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
        #expect(HashSlot.of("foo{bar}{zap}") == HashSlot.of("bar"))
        // No closing brace: the whole key.
        #expect(HashSlot.of("foo{bar") == Int(HashSlot.crc16(Array("foo{bar".utf8))) & 16383)
    }

    @Test("seed lists parse host:port pairs, IPv6 literals and the redis:// and rediss:// (TLS) prefixes, and refuse the rest")
    func addresses() throws {
        #expect(try RedisEndpoint.parseList("redis://10.0.0.1:7000,10.0.0.2:7001")
            == [RedisEndpoint(host: "10.0.0.1", port: 7000), RedisEndpoint(host: "10.0.0.2", port: 7001)])
        #expect(try RedisEndpoint.parseList("localhost:6379") == [RedisEndpoint(host: "localhost", port: 6379)])
        #expect(try RedisEndpoint.parseList("rediss://10.0.0.1:7000") == [RedisEndpoint(host: "10.0.0.1", port: 7000)])
        #expect(RedisEndpoint.usesTLS("rediss://10.0.0.1:7000") && !RedisEndpoint.usesTLS("redis://10.0.0.1:7000") && !RedisEndpoint.usesTLS("h:1"))
        #expect(try RedisEndpoint(parsing: "[::1]:7000") == RedisEndpoint(host: "::1", port: 7000))
        #expect(RedisEndpoint(host: "::1", port: 7000).description == "[::1]:7000")
        for bad in ["", "host", "host:0", "host:65536", "host:x", "a:1,,b:2", "redis://", "rediss://", "redis://rediss://h:1", ":7000x", "a/b:1"] {
            #expect(throws: RedisError.self, "\(bad)") { _ = try RedisEndpoint.parseList(bad) }
        }
    }

    @Test("error replies are classified as the specification's redirections and transient states")
    func errorReplies() {
        #expect(ClusterErrorReply("MOVED 3999 127.0.0.1:6381") == .moved(slot: 3999, to: RedisEndpoint(host: "127.0.0.1", port: 6381)))
        #expect(ClusterErrorReply("ASK 3999 127.0.0.1:6381") == .ask(slot: 3999, to: RedisEndpoint(host: "127.0.0.1", port: 6381)))
        #expect(ClusterErrorReply("MOVED 99999 127.0.0.1:6381") == .other("MOVED 99999 127.0.0.1:6381"))
        #expect(ClusterErrorReply("TRYAGAIN Multiple keys request during rehashing of slot") == .transient("TRYAGAIN Multiple keys request during rehashing of slot"))
        #expect(ClusterErrorReply("CLUSTERDOWN The cluster is down") == .transient("CLUSTERDOWN The cluster is down"))
        #expect(ClusterErrorReply("WRONGPASS invalid username-password pair") == .auth("WRONGPASS invalid username-password pair"))
        #expect(ClusterErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
            == .other("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }
}
