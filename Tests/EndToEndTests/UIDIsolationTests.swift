import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sessions are isolated by the peer's kernel-reported uid: another uid can neither see, read nor
/// drop a session it does not own. The tests run as root and start `kvctl` as uid/gid 65534
/// (nobody) with `setpriv`; the daemon gives the socket to group 65534 (`--socket-group`), so
/// nobody may connect.
extension EndToEnd {
@Suite struct UIDIsolationTests {
    static let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    @Test func anotherUIDCannotSeeReadOrDropAForeignSession() throws {
        try #require(getuid() == 0, "the uid isolation test starts clients as another uid and must run as root")
        let daemon = try DaemonProcess(extraArguments: ["--socket-group", "65534"])
        defer { daemon.cleanUp() }
        // nobody must be able to reach the socket inside the test's directory.
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        let root = try TestClient(socketPath: daemon.socketPath)
        defer { root.close() }
        #expect(root.helloOK?.peerUID == 0)
        try root.createSession("root-secret", ModelShapes.tiny)
        try root.append("root-secret", [ModelShapes.block(ModelShapes.tiny, layer: 0, position: 0, seed: 3)])

        // nobody connects (its uid is what the daemon sees) but sees none of root's sessions.
        let list = try Kvctl.run(["--socket", daemon.socketPath, "sessions", "--json"], prefix: Self.nobody)
        #expect(list.status == 0, "\(list.output)")
        #expect(!list.output.contains("root-secret"), "\(list.output)")
        let read = try Kvctl.run(["--socket", daemon.socketPath, "blocks", "root-secret"], prefix: Self.nobody)
        #expect(read.status == 1)
        #expect(read.output.contains("sessionNotFound"), "\(read.output)")
        let drop = try Kvctl.run(["--socket", daemon.socketPath, "drop", "root-secret"], prefix: Self.nobody)
        #expect(drop.status == 1)
        #expect(drop.output.contains("sessionNotFound"), "\(drop.output)")

        // The session is intact, and root (an admin by default) lists it.
        #expect(try root.openSession("root-secret").blockCounts == [1, 0])
        let rootList = try Kvctl.run(["--socket", daemon.socketPath, "sessions"])
        #expect(rootList.output.contains("root-secret") && rootList.output.contains("owner=0"), "\(rootList.output)")
    }

    @Test func nonAdminRootIsIsolatedToo() throws {
        try #require(getuid() == 0, "must run as root")
        // With uid 65534 as the only admin, root is an ordinary uid: nobody (admin) sees and drops
        // root's session, and root cannot see a session nobody could create.
        let daemon = try DaemonProcess(extraArguments: ["--socket-group", "65534", "--admin-uid", "65534"])
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        let root = try TestClient(socketPath: daemon.socketPath)
        try root.createSession("root-doc", ModelShapes.tiny)
        root.close()
        let list = try Kvctl.run(["--socket", daemon.socketPath, "sessions"], prefix: Self.nobody)
        #expect(list.output.contains("root-doc"), "\(list.output)")
        let drop = try Kvctl.run(["--socket", daemon.socketPath, "drop", "root-doc"], prefix: Self.nobody)
        #expect(drop.status == 0, "\(drop.output)")
        let again = try TestClient(socketPath: daemon.socketPath)
        defer { again.close() }
        #expect(try expectError(.sessionNotFound) { try again.call(.openSession(SessionRequest(name: "root-doc"))) })
    }

    @Test func withoutTheSocketGroupAnotherUIDCannotConnect() throws {
        try #require(getuid() == 0, "must run as root")
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        let stats = try Kvctl.run(["--socket", daemon.socketPath, "stats"], prefix: Self.nobody)
        #expect(stats.status == 1)
        #expect(stats.output.contains("Permission denied"), "\(stats.output)")
    }
}
}
