import Protocol
import CoreTypes
import Foundation
import Testing
@testable import KVDaemon

/// `/proc/self/uid_map` parsing and the start-up decision built on it: only a namespace that
/// maps every uid lets kvd tell its peers apart.
struct UserNamespaceMapTests {
    @Test("the initial namespace's map (kernel's padded columns) maps every uid")
    func initialNamespace() throws {
        let map = try UserNamespaceMap(parsing: "         0          0 4294967295\n")
        #expect(map.extents == [.init(inside: 0, outside: 0, count: 4_294_967_295)])
        #expect(map.mappedUIDs == 4_294_967_295)
        #expect(map.mapsEveryUID)
        #expect(try map.check(allowPartial: false) == false, "nothing to warn about")
    }

    @Test("unshare -U --map-root-user / PrivateUsers=yes maps a few uids: refused with the typed error, allowed with the override")
    func partialMaps() throws {
        let root = try UserNamespaceMap(parsing: "         0          0          1\n")
        #expect(root.mappedUIDs == 1 && !root.mapsEveryUID)
        #expect(throws: DaemonError.partialUserNamespace(mappedUIDs: 1, overflowUID: 65534)) {
            try root.check(allowPartial: false)
        }
        #expect(try root.check(allowPartial: true) == true, "allowed, and the caller warns")

        // systemd's PrivateUsers=yes: root, the service user, and nothing else.
        let privateUsers = try UserNamespaceMap(parsing: "0 0 1\n998 998 1\n")
        #expect(privateUsers.mappedUIDs == 2)
        #expect(throws: DaemonError.partialUserNamespace(mappedUIDs: 2, overflowUID: 123)) {
            try privateUsers.check(allowPartial: false, overflowUID: 123)
        }
        // A container's subordinate range: large, still not every uid.
        let container = try UserNamespaceMap(parsing: "0 100000 65536\n")
        #expect(container.mappedUIDs == 65536 && !container.mapsEveryUID)
        // Several extents that add up to the full range cover every uid.
        let split = try UserNamespaceMap(parsing: "0 0 1000\n1000 1000 4294966295\n")
        #expect(split.mapsEveryUID)
        // An empty map (a namespace whose map was never written) maps nothing.
        #expect(try UserNamespaceMap(parsing: "").mappedUIDs == 0)
    }

    @Test("the refusal names the cause, the overflow uid, the fix and the override")
    func message() {
        let text = DaemonError.partialUserNamespace(mappedUIDs: 2, overflowUID: 65534).description
        #expect(text.hasPrefix("kvd runs in a user namespace that maps 2 uids (/proc/self/uid_map; PrivateUsers=yes?)"), "\(text)")
        #expect(text.contains("peers outside it all appear as uid 65534 and would share one owner"))
        #expect(text.contains("run kvd without a private user namespace"))
        #expect(text.contains("--allow-partial-uid-map"))
        #expect(DaemonError.partialUserNamespace(mappedUIDs: 1, overflowUID: 65534).description.contains("maps 1 uid ("))
        #expect(DaemonError.partialUserNamespace(mappedUIDs: 1, overflowUID: 65534).code == 7)
    }

    @Test("malformed maps are errors naming the line", arguments: [
        "0 0\n", "0 0 1 1\n", "a 0 1\n", "0 0 0\n", "0 0 1\n0 -1 1\n", "0 0 4294967296\n",
    ])
    func malformed(text: String) {
        #expect(throws: DaemonError.self) { try UserNamespaceMap(parsing: text) }
    }

    @Test("reading: a missing file is a kernel without user namespaces; a file is parsed")
    func reading() throws {
        #expect(try UserNamespaceMap.current(path: "/nonexistent/uid_map") == nil)
        let path = NSTemporaryDirectory() + "uid_map-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "         0       1000          1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try UserNamespaceMap.current(path: path) == UserNamespaceMap(parsing: "0 1000 1"))
        // This process's own map parses, whatever namespace the tests run in.
        #expect(try UserNamespaceMap.current() != nil)
        try "65534\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(UserNamespaceMap.overflowUID(path: path) == 65534)
        try "4242\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(UserNamespaceMap.overflowUID(path: path) == 4242)
        #expect(UserNamespaceMap.overflowUID(path: "/nonexistent/overflowuid") == 65534)
    }
}
