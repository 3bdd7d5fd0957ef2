import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// kvd refuses to start where it cannot tell its peers apart: in a user namespace that does not
/// map every uid (systemd's `PrivateUsers=yes`; here util-linux `unshare -U --map-root-user`,
/// which maps uid 0 only), every client other than root would appear as uid 65534 and all of
/// them would own the same sessions. `--allow-partial-uid-map` (or its `KVD_*`/config-file
/// forms) lets an operator start it anyway.
extension EndToEnd {
@Suite struct UserNamespaceTests {
    static let unshare = ["/usr/bin/unshare", "-U", "--map-root-user"]

    /// Fails the test (with what `unshare` said) when this machine cannot create a user
    /// namespace: then the refusal cannot be shown, and the test must not pass silently.
    static func requireUserNamespaces() throws {
        try #require(FileManager.default.isExecutableFile(atPath: unshare[0]), "\(unshare[0]) missing: install util-linux")
        let probe = try OperationsTests.run(unshare[0], Array(unshare.dropFirst()) + ["cat", "/proc/self/uid_map"])
        let fields = probe.output.split(whereSeparator: \.isWhitespace)
        try #require(
            probe.status == 0 && fields == ["0", "\(getuid())", "1"],
            "user namespaces are unavailable here (unshare -U --map-root-user: status \(probe.status), \(probe.output)); this test cannot show kvd's refusal")
    }

    @Test func kvdRefusesToStartInAUserNamespaceThatMapsOneUID() throws {
        try Self.requireUserNamespaces()
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        do {
            try daemon.start(timeout: 10, launcher: Self.unshare)
            Issue.record("kvd started in a user namespace that maps 1 uid:\n\(daemon.log_())")
        } catch let error as HarnessError {
            let text = error.description
            #expect(text.contains("exited with status 1"), "\(text)")
            #expect(text.contains("kvd runs in a user namespace that maps 1 uid "), "\(text)")
            #expect(text.contains("PrivateUsers=yes?"), "names the likely cause: \(text)")
            #expect(text.contains("appear as uid 65534 and would share one owner"), "\(text)")
            #expect(text.contains("run kvd without a private user namespace"), "names the fix: \(text)")
            #expect(text.contains("--allow-partial-uid-map"), "names the override: \(text)")
        }
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "refused before binding")
        #expect(!FileManager.default.fileExists(atPath: daemon.dataPath), "refused before opening the store")
    }

    @Test func theOverrideStartsItInEveryLayer() throws {
        try Self.requireUserNamespaces()
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        let config = daemon.root.appendingPathComponent("kvd.conf").path
        try "allow-partial-uid-map = true\n".write(toFile: config, atomically: true, encoding: .utf8)
        let ways: [(arguments: [String], environment: [String: String])] = [
            (["--allow-partial-uid-map"], [:]),
            ([], ["KVD_ALLOW_PARTIAL_UID_MAP": "true"]),
            (["--config", config], [:]),
        ]
        for way in ways {
            try daemon.start(arguments: way.arguments, environment: way.environment, launcher: Self.unshare)
            let client = try TestClient(socketPath: daemon.socketPath)
            // Root outside is root inside (the one uid the namespace maps).
            #expect(client.helloOK?.peerUID == 0)
            client.close()
            try daemon.stop()
        }
        #expect(daemon.log_().components(separatedBy: "--allow-partial-uid-map: kvd runs in a user namespace").count - 1 == ways.count,
                "each start warns:\n\(daemon.log_())")
        // The environment says false: the config file's true does not count.
        #expect(throws: HarnessError.self) {
            try daemon.start(arguments: ["--config", config], environment: ["KVD_ALLOW_PARTIAL_UID_MAP": "false"], timeout: 10, launcher: Self.unshare)
        }
    }

    @Test func theFlagIsDocumentedAndPrinted() throws {
        let help = try OperationsTests.run(DaemonProcess.kvdPath, ["serve", "--help"])
        #expect(help.output.contains("--allow-partial-uid-map"), "\(help.output)")
        let off = try OperationsTests.run(DaemonProcess.kvdPath, ["config", "print", "--socket", "/tmp/x.sock", "--data", "/tmp/x"])
        #expect(off.output.split(separator: "\n").contains { $0.hasPrefix("allow-partial-uid-map = false") && $0.hasSuffix("# default") }, "\(off.output)")
        let on = try Self.runWithEnvironment(["KVD_ALLOW_PARTIAL_UID_MAP": "yes"], DaemonProcess.kvdPath, ["config", "print", "--socket", "/tmp/x.sock", "--data", "/tmp/x"])
        #expect(on.output.split(separator: "\n").contains { $0.hasPrefix("allow-partial-uid-map = true") && $0.hasSuffix("# environment KVD_ALLOW_PARTIAL_UID_MAP") }, "\(on.output)")
        let bad = try Self.runWithEnvironment(["KVD_ALLOW_PARTIAL_UID_MAP": "maybe"], DaemonProcess.kvdPath, ["config", "print", "--socket", "/tmp/x.sock", "--data", "/tmp/x"])
        #expect(bad.status != 0 && bad.output.contains("--allow-partial-uid-map: maybe is not true or false"), "\(bad.output)")
    }

    static func runWithEnvironment(_ environment: [String: String], _ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.run([executable] + arguments, environment: environment)
        return (result.status, result.output)
    }
}
}
