import Foundation
import Protocol
import Testing

/// The `kvstress` reliability drivers, run briefly against a real kvd so the commands stay
/// covered (their documented runs in docs/BENCHMARKS.md take minutes).
extension EndToEnd {
@Suite struct KvstressTests {
    static var kvstressPath: String { DaemonProcess.productsDirectory.appendingPathComponent("kvstress").path }

    /// Runs the built `kvstress` with `arguments`; returns its exit status and output.
    static func kvstress(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: kvstressPath) else {
            throw HarnessError("kvstress binary not found at \(kvstressPath); build the package first")
        }
        let result = try ChildProcess.run([kvstressPath] + arguments)
        return (result.status, result.output)
    }

    /// The sessions a fresh client sees (all of them: the tests run as the daemon's uid).
    static func sessionNames(_ socketPath: String) throws -> [String] {
        let client = try TestClient(socketPath: socketPath)
        defer { client.close() }
        guard case .sessionList(let list) = try client.call(.listSessions(ListSessions())) else {
            throw HarnessError("listSessions not answered with a sessionList")
        }
        return list.sessions.map(\.name)
    }

    @Test func framesChecksEveryReplyAndLeavesKvdServing() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let (status, output) = try Self.kvstress([
            "frames", "--socket", daemon.socketPath, "--frames", "4000", "--workers", "2", "--seed", "11",
        ])
        #expect(status == 0, "\(output)\n\(daemon.log_())")
        #expect(output.contains("kvd pid \(daemon.pid)"), "the daemon's pid is found from its socket: \(output)")
        #expect(output.contains("result: PASS"))
        #expect(output.contains("normal client afterwards: ok"))
        #expect(daemon.process?.isRunning == true)
        // The run cleans up after itself: no session of it is left.
        #expect(try Self.sessionNames(daemon.socketPath).filter { $0.hasPrefix("kvstress") } == [])
    }

    @Test func soakRunsClientsWithoutErrorsAndDropsItsSessions() throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", "none"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let (status, output) = try Self.kvstress([
            "soak", "--socket", daemon.socketPath, "--pid", "\(daemon.pid)", "--clients", "3", "--duration", "2",
            "--sample-interval", "0.5", "--max-chunks", "6", "--seed", "5",
        ])
        #expect(status == 0, "\(output)\n\(daemon.log_())")
        #expect(output.contains("failed requests 0"))
        #expect(output.contains("mismatches 0"))
        #expect(output.contains("kvd RSS:"))
        #expect(output.contains("result: PASS"))
        #expect(try Self.sessionNames(daemon.socketPath) == [])
    }

    @Test func framesFailsWhenNothingListens() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstress-none-\(UUID().uuidString.prefix(8))")
        let (status, output) = try Self.kvstress(["frames", "--socket", root.appendingPathComponent("kvd.sock").path, "--frames", "10"])
        #expect(status != 0, "\(output)")
        #expect(output.contains("connect("))
    }
}
}
