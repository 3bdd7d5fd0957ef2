import Protocol
import CoreTypes
import DaemonTestSupport
import Foundation
import Synchronization
import NIOPosix
import Testing
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Plain HTTP/1.1 requests over a Unix or loopback TCP socket (blocking: call through
/// `onDedicatedThread`).
enum HTTPProbe {
    /// Sends `request` verbatim and returns everything the server sends until it closes.
    static func exchange(unixPath: String? = nil, tcpPort: Int? = nil, request: String) throws -> String {
        let fd: Int32
        if let unixPath {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(unixPath.utf8)) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { close(fd); throw DaemonTestError("connect \(unixPath): errno \(errno)") }
        } else {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(tcpPort ?? 0).bigEndian)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { close(fd); throw DaemonTestError("connect 127.0.0.1:\(tcpPort ?? 0): errno \(errno)") }
        }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer.prefix(count)
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Status line and body of a response.
    static func split(_ response: String) -> (status: String, body: String) {
        // "\r\n" is one Character in Swift: split on the string, not on "\r".
        let status = response.components(separatedBy: "\r\n").first ?? ""
        guard let range = response.range(of: "\r\n\r\n") else { return (status, "") }
        return (status, String(response[range.upperBound...]))
    }
}

struct MetricsEndpointTests {
    @Test func addressesParseAndRejectNonLoopback() throws {
        #expect(try MetricsAddress(parsing: "unix:/run/kvd/metrics.sock") == .unix(path: "/run/kvd/metrics.sock"))
        #expect(try MetricsAddress(parsing: "tcp:127.0.0.1:9464") == .tcp(host: "127.0.0.1", port: 9464))
        #expect(try MetricsAddress(parsing: "tcp:[::1]:9464") == .tcp(host: "::1", port: 9464))
        #expect(try MetricsAddress(parsing: "tcp:localhost:1") == .tcp(host: "localhost", port: 1))
        for bad in ["tcp:0.0.0.0:9464", "tcp:10.0.0.1:80", "tcp:127.0.0.1:0", "tcp:127.0.0.1:70000", "unix:relative", "http://x", ""] {
            let error = try #require(throws: DaemonError.self) { try MetricsAddress(parsing: bad) }
            #expect(error.description.contains("metrics"), "\(bad): \(error)")
        }
    }

    @Test func aWorldWritableMetricsSocketDirectoryIsRefused() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let directory = "/tmp/kvd-metrics-open-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o777)
        do {
            _ = try await MetricsEndpoint.start(address: .unix(path: directory + "/metrics.sock"), group: group) { "" }
            Issue.record("served metrics from a world-writable directory")
        } catch let error as DaemonError {
            #expect(error.description.contains("metrics socket directory \(directory) is world-writable"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/metrics.sock"))
        try await group.shutdownGracefully()
    }

    @Test func servesMetricsOverUnixAndTCP() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pathDirectory = "/tmp/kvd-metrics-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: pathDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: pathDirectory) }
        let path = pathDirectory + "/metrics.sock"
        let calls = Counter()
        let render: @Sendable () async -> String = {
            let n = calls.next()
            return "# HELP kvd_probe_total Probe.\n# TYPE kvd_probe_total counter\nkvd_probe_total \(n)\n"
        }
        // Rendered on threads of their own, as in kvd: not on a cooperative pool other tests may hold.
        let executor = DedicatedExecutor(threads: 1, name: "metrics-test")
        defer { executor.shutdown() }
        let unix = try await MetricsEndpoint.start(address: .unix(path: path), group: group, executor: executor, render: render)
        let tcp = try await MetricsEndpoint.start(
            address: .tcp(host: "127.0.0.1", port: 0), group: group, executor: executor, render: render)
        let port = try #require(tcp.port)

        let first = try await onDedicatedThread {
            try HTTPProbe.exchange(unixPath: path, request: "GET /metrics HTTP/1.1\r\nHost: kvd\r\n\r\n")
        }
        let (status, body) = HTTPProbe.split(first)
        #expect(status == "HTTP/1.1 200 OK")
        #expect(first.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(try PrometheusParser.parse(body).value("kvd_probe_total") == 1)

        let second = try await onDedicatedThread {
            try HTTPProbe.exchange(tcpPort: port, request: "GET /metrics?x=1 HTTP/1.1\r\nHost: kvd\r\n\r\n")
        }
        #expect(try PrometheusParser.parse(HTTPProbe.split(second).body).value("kvd_probe_total") == 2, "re-rendered on every scrape")

        let notFound = try await onDedicatedThread { try HTTPProbe.exchange(tcpPort: port, request: "GET / HTTP/1.1\r\n\r\n") }
        #expect(HTTPProbe.split(notFound).status == "HTTP/1.1 404 Not Found")
        let post = try await onDedicatedThread { try HTTPProbe.exchange(tcpPort: port, request: "POST /metrics HTTP/1.1\r\n\r\n") }
        #expect(HTTPProbe.split(post).status == "HTTP/1.1 405 Method Not Allowed")
        let garbage = try await onDedicatedThread { try HTTPProbe.exchange(tcpPort: port, request: "\u{1}\u{2}\r\n\r\n") }
        #expect(HTTPProbe.split(garbage).status == "HTTP/1.1 400 Bad Request")
        let huge = try await onDedicatedThread {
            try HTTPProbe.exchange(tcpPort: port, request: "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 20000))
        }
        #expect(HTTPProbe.split(huge).status == "HTTP/1.1 431 Request Header Fields Too Large")
        #expect(calls.value == 2, "only real GET /metrics renders")

        await unix.close()
        await tcp.close()
        #expect(!FileManager.default.fileExists(atPath: path), "the metrics socket file is removed")
        try await group.shutdownGracefully()
    }
}

/// A thread-safe counter.
final class Counter: Sendable {
    private let state = Mutex(0)
    func next() -> Int { state.withLock { $0 += 1; return $0 } }
    var value: Int { state.withLock { $0 } }
}
