import Foundation
import Testing

/// `kvstress crash` (the driver behind the crash-cycle figures of docs/BENCHMARKS.md
/// `## Reliability`) run for a few cycles against the real kvd, with and without the
/// power-loss interposer.
extension EndToEnd {
@Suite struct KvstressCrashTests {
    static var kvstressPath: String { DaemonProcess.productsDirectory.appendingPathComponent("kvstress").path }

    /// Runs `kvstress crash` with `arguments` (and `environment` added to this process's, which
    /// kvd inherits); returns its exit status and output.
    static func crash(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.run([kvstressPath, "crash", "--kvd", DaemonProcess.kvdPath] + arguments, environment: environment)
        return (result.status, result.output)
    }

    /// The figure after `name ` in the summary line (`…, lost 0, …`).
    static func figure(_ name: String, in output: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("crash cycles:") }),
              let range = line.range(of: ", \(name) ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("kvstress crash: 3 kill -9 cycles in sync mode lose no acknowledged block")
    func threeCyclesLoseNothing() throws {
        let run = try Self.crash(["--cycles", "3", "--durability", "sync", "--verbose"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("crash cycles: 3, durability sync"), "\(run.output)")
        #expect((Self.figure("blocks acknowledged", in: run.output) ?? 0) > 0, "\(run.output)")
        #expect(Self.figure("lost", in: run.output) == 0, "\(run.output)")
        #expect(Self.figure("differing", in: run.output) == 0, "\(run.output)")
    }

    @Test("kvstress crash with a power loss after every kill: sync loses nothing; none, and sync with flushes ignored, are reported as failing")
    func powerLossCycles() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let library = try PowerLoss.compile(into: dir)

        let sync = try Self.crash(["--cycles", "3", "--durability", "sync", "--power-loss-library", library, "--verbose"])
        #expect(sync.status == 0, "\(sync.output)")
        #expect(sync.output.contains("durability sync + power loss"), "\(sync.output)")
        #expect(Self.figure("lost", in: sync.output) == 0, "\(sync.output)")

        let none = try Self.crash(["--cycles", "2", "--durability", "none", "--power-loss-library", library,
                                   "--work-directory", dir.appendingPathComponent("none").path, "--verbose"])
        #expect(none.status == 1, "\(none.output)")
        #expect((Self.figure("lost", in: none.output) ?? 0) > 0, "none after a power loss: \(none.output)")

        // Negative control: an interposer whose fsync/fdatasync make nothing durable (only the
        // O_DSYNC meta page is) — sync mode must then fail: kvd refuses the torn store or blocks are lost.
        let broken = try Self.crash(["--cycles", "1", "--durability", "sync", "--power-loss-library", library,
                                     "--work-directory", dir.appendingPathComponent("broken").path],
                                    environment: ["POWERLOSS_DROP_FSYNC": "1"])
        #expect(broken.status == 1, "a power loss after ignored flushes went unnoticed: \(broken.output)")
    }
}
}
