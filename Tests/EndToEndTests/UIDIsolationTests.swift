import CoreTypes
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
        #expect(list.output.contains("0/root-doc"), "an administrator sees another owner's session as UID/NAME: \(list.output)")
        let plain = try Kvctl.run(["--socket", daemon.socketPath, "drop", "root-doc"], prefix: Self.nobody)
        #expect(plain.status == 1 && plain.output.contains("sessionNotFound"), "a plain name is the caller's own: \(plain.output)")
        let drop = try Kvctl.run(["--socket", daemon.socketPath, "drop", "0/root-doc"], prefix: Self.nobody)
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

    @Test("two uids run the worker over the same document with the same session name: each gets its own sessions and blocks, neither reuses the other's")
    func workersOfTwoUIDsShareNothing() throws {
        try #require(getuid() == 0, "must run as root")
        let daemon = try DaemonProcess(extraArguments: ["--socket-group", "65534"])
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o711)
        try daemon.start()
        // nobody must read the model and the document: copies in the daemon's directory.
        let model = daemon.root.appendingPathComponent("model.gguf").path
        try FileManager.default.copyItem(atPath: WorkerProcess.modelPath, toPath: model)
        chmod(model, 0o644)
        let doc = daemon.root.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 31337, sentences: 40, depth: 0.5).write(to: doc, atomically: true, encoding: .utf8)
        chmod(doc.path, 0o644)
        let common = ["--input", doc.path, "--question", "What is the pass key?", "--chat", "--max-tokens", "6",
                      "--socket", daemon.socketPath, "--session", "doc", "--json"] + WorkerProcess.smallConfig
        let root = try WorkerProcess.run(common, directory: daemon.root, model: model)
        #expect(root.status == 0, "\(root.stderr)")
        let nobody = try WorkerProcess.run(common, directory: daemon.root, model: model, prefix: Self.nobody)
        #expect(nobody.status == 0, "\(nobody.stderr)")
        #expect(nobody.int("reusedTokens") == 0, "nobody cannot reuse root's stored document")
        #expect(nobody.generated == root.generated, "the same document and question give the same answer")

        // Root (an administrator) sees both owners' sessions of the same names.
        let admin = try TestClient(socketPath: daemon.socketPath)
        defer { admin.close() }
        guard case .sessionList(let list) = try admin.call(.listSessions(ListSessions())) else { throw HarnessError("listSessions") }
        let rootNames = list.sessions.filter { $0.ownerUID == 0 }.map(\.name).sorted()
        let nobodyNames = list.sessions.filter { $0.ownerUID == 65534 }.map(\.name).sorted()
        #expect(!rootNames.isEmpty && nobodyNames == rootNames.map { "65534/" + $0 }, "\(list.sessions.map(\.name))")
        // Their blocks are distinct, though both wrote the same prefixes of the same model.
        func ids(_ session: String) throws -> Set<BlockID> {
            let info = try admin.openSession(session)
            let result = try admin.retrieve(RetrieveRequest(
                session: session, layer: 0, method: .dense, mode: .decode, chunkSequence: 0,
                probe: [Float](repeating: 0, count: Int(info.descriptor.vectorDimension)), wantPayloads: false))
            return Set(result.chosen.map(\.id))
        }
        let run = try #require(rootNames.first { $0.contains("~") && !$0.hasSuffix("@checkpoint") })
        let mine = try ids(run), theirs = try ids("65534/" + run)
        #expect(!mine.isEmpty && !theirs.isEmpty)
        #expect(mine.isDisjoint(with: theirs))
    }
}
}
