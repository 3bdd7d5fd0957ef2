import CoreTypes
import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kvctl verify` through a running kvd (the `verify` request, docs/PROTOCOL.md §6.7).
extension EndToEnd {
@Suite struct LiveVerifyTests {
    /// A block whose payload is uniformly random bytes: zstd cannot shrink it, so the store keeps
    /// it with the identity codec and its bytes appear verbatim in data.mdb.
    static func incompressibleBlock(_ shape: ModelDescriptor, layer: Int, position: Int, seed: UInt64) -> BlockRecord {
        var block = ModelShapes.block(shape, layer: layer, position: position, seed: seed)
        var generator = SplitMix64(seed: seed ^ 0xC0FFEE &+ UInt64(layer * 100_000 + position))
        block.payload = (0..<shape.payloadBytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }[...]
        return block
    }

    @Test func aCorruptedBlockIsReportedByTheRestartedDaemon() throws {
        let shape = ModelShapes.tiny
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        try client.createSession("victim", shape)
        let victim = Self.incompressibleBlock(shape, layer: 0, position: 0, seed: 41)
        let ids = try client.append("victim", [victim] + (1..<4).map { Self.incompressibleBlock(shape, layer: 0, position: $0, seed: 41) })
        client.close()
        let healthy = try Kvctl.run(["--socket", daemon.socketPath, "verify"])
        #expect(healthy.status == 0 && healthy.output.contains("OK"), "\(healthy.output)")
        #expect(try daemon.stop() == 0)

        // Flip one byte in the middle of the victim's payload, wherever LMDB holds a copy of it.
        let mdb = daemon.dataPath + "/data.mdb"
        var file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: mdb)))
        let needle = Array(victim.payload.prefix(64))
        var hits = 0
        var i = 0
        while i + victim.payload.count <= file.count {
            if file[i] == needle[0] && Array(file[i..<(i + 64)]) == needle {
                file[i + victim.payload.count / 2] ^= 0x5A
                hits += 1
                i += victim.payload.count
            } else {
                i += 1
            }
        }
        try #require(hits >= 1, "the victim's payload was not found verbatim in data.mdb")
        try Data(file).write(to: URL(fileURLWithPath: mdb))

        try daemon.start()
        let verify = try Kvctl.run(["--socket", daemon.socketPath, "verify", "--json"])
        #expect(verify.status == 1, "kvctl verify must fail: \(verify.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(verify.output.utf8)) as? [String: Any], "\(verify.output)")
        #expect(report["ok"] as? Bool == false)
        #expect(report["failureTotal"] as? Int == 1, "\(verify.output)")
        #expect(report["blocksChecked"] as? Int == 4)
        let failures = report["failures"] as? [String] ?? []
        let victimID = String(format: "%016llx%016llx", ids[0].high, ids[0].low)
        #expect(failures.count == 1 && failures[0].hasPrefix(victimID) && failures[0].contains("payloadCorrupt (1)"), "\(failures)")

        // The client API sees the same, typed.
        let admin = try TestClient(socketPath: daemon.socketPath)
        defer { admin.close() }
        let reply = try admin.request(.verify(VerifyRequest(maxFailures: 1)))
        guard case .verifyReport(let typed) = reply else {
            Issue.record("verify answered with \(reply)")
            return
        }
        #expect(!typed.ok && typed.failureTotal == 1)
        #expect(typed.failures.first?.block == ids[0] && typed.failures.first?.reason == .payloadCorrupt)
        #expect(try daemon.stop() == 0)
    }

    @Test func verifyIsForAdministratorsOnly() throws {
        try #require(getuid() == 0, "starts kvctl as uid 65534 and must run as root")
        let daemon = try DaemonProcess(extraArguments: ["--socket-group", "65534"])
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        let denied = try Kvctl.run(["--socket", daemon.socketPath, "verify"], prefix: UIDIsolationTests.nobody)
        #expect(denied.status == 1 && denied.output.contains("permissionDenied (12)"), "\(denied.output)")
        let admin = try Kvctl.run(["--socket", daemon.socketPath, "verify"])
        #expect(admin.status == 0, "\(admin.output)")
    }
}
}
