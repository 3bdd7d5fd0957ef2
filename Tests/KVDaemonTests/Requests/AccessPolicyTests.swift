import Protocol
import CoreTypes
import Testing
@testable import KVDaemon

struct AccessPolicyTests {
    let alice = PeerCredentials(pid: 10, uid: 1000, gid: 1000)
    let bob = PeerCredentials(pid: 11, uid: 1001, gid: 1000)
    let root = PeerCredentials(pid: 1, uid: 0, gid: 0)

    @Test func ownerOnlyUnlessAdmin() {
        let policy = AccessPolicy()
        #expect(policy.mayAccess(sessionOwnedBy: 1000, peer: alice))
        #expect(!policy.mayAccess(sessionOwnedBy: 1000, peer: bob), "same group is not enough")
        #expect(policy.mayAccess(sessionOwnedBy: 1000, peer: root))
        #expect(policy.seesAllSessions(root))
        #expect(!policy.seesAllSessions(alice))
    }

    @Test func configuredAdminsReplaceRoot() {
        let policy = AccessPolicy(adminUIDs: [1001])
        #expect(policy.mayAccess(sessionOwnedBy: 1000, peer: bob))
        #expect(!policy.mayAccess(sessionOwnedBy: 1000, peer: root))
    }
}
