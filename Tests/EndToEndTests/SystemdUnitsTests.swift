import Foundation
import Testing

/// systemd/kvd.service and systemd/kvd.socket pass `systemd-analyze verify` (Debian's systemd
/// 252) without a single warning: an unknown or misspelt hardening option is a warning there, so
/// "no output" is the bar, not just the exit status.
extension EndToEnd {
@Suite struct SystemdUnitsTests {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs `systemd-analyze verify` on copies of the units whose ExecStart names `kvd` (the
    /// shipped units say /usr/local/bin/kvd, which need not exist on a build machine).
    static func verify(service: String, socket: String, kvd: String) throws -> (status: Int32, output: String) {
        let directory = URL(fileURLWithPath: "/tmp/kvd-units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try service.replacingOccurrences(of: "/usr/local/bin/kvd", with: kvd)
            .write(to: directory.appendingPathComponent("kvd.service"), atomically: true, encoding: .utf8)
        try socket.write(to: directory.appendingPathComponent("kvd.socket"), atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([
            "systemd-analyze", "verify", "--man=no",
            directory.appendingPathComponent("kvd.socket").path, directory.appendingPathComponent("kvd.service").path,
        ])
        return (result.status, result.output)
    }

    @Test func shippedUnitsVerifyCleanly() throws {
        let service = try String(contentsOf: Self.packageRoot.appendingPathComponent("systemd/kvd.service"), encoding: .utf8)
        let socket = try String(contentsOf: Self.packageRoot.appendingPathComponent("systemd/kvd.socket"), encoding: .utf8)
        try #require(FileManager.default.isExecutableFile(atPath: DaemonProcess.kvdPath), "build kvd first")
        let result = try Self.verify(service: service, socket: socket, kvd: DaemonProcess.kvdPath)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "systemd-analyze warnings:\n\(result.output)")

        // The promised settings are really there (a unit that lost them would still verify).
        for line in [
            "Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_UNIX", "MemoryDenyWriteExecute=yes", "StateDirectory=kvd kvd-backup",
            "RuntimeDirectory=kvd", "User=kvd", "ExecReload=/bin/kill -HUP $MAINPID",
        ] {
            #expect(service.split(separator: "\n").contains { $0 == line }, "kvd.service lacks \(line)")
        }
        // No private user namespace: in one, SO_PEERCRED reports every client other than root
        // and kvd as uid 65534, so all users would share one owner's sessions (and kvd refuses
        // to start there, UserNamespaceTests).
        let lines = service.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(!lines.contains { $0.hasPrefix("PrivateUsers=") }, "kvd.service must not set PrivateUsers=")
        #expect(!lines.contains { $0.hasPrefix("ExecStart=") && $0.contains("--allow-partial-uid-map") })
        for line in [
            "PrivateDevices=yes", "PrivateNetwork=yes", "CapabilityBoundingSet=", "ProtectKernelTunables=yes",
            "ProtectControlGroups=yes", "RestrictNamespaces=yes", "SystemCallFilter=@system-service",
        ] {
            #expect(lines.contains(line), "kvd.service lacks \(line)")
        }
        #expect(socket.contains("ListenStream=/run/kvd/kvd.sock"))
        #expect(socket.contains("FileDescriptorName=kvd"))
    }

    /// The check has teeth: a misspelt option or a missing binary is reported.
    @Test func verifyCatchesMistakes() throws {
        let service = try String(contentsOf: Self.packageRoot.appendingPathComponent("systemd/kvd.service"), encoding: .utf8)
        let socket = try String(contentsOf: Self.packageRoot.appendingPathComponent("systemd/kvd.socket"), encoding: .utf8)
        let misspelt = try Self.verify(
            service: service.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHom=yes"), socket: socket, kvd: DaemonProcess.kvdPath)
        #expect(misspelt.output.contains("ProtectHom"), "\(misspelt.output)")
        let missing = try Self.verify(service: service, socket: socket, kvd: "/nonexistent/kvd")
        #expect(missing.status != 0)
    }
}
}
