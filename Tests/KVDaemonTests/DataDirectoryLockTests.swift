import Foundation
import Testing
@testable import KVDaemon

struct DataDirectoryLockTests {
    @Test func secondDaemonOnTheSameDataDirectoryIsRefused() throws {
        let directory = "/tmp/kvd-lock-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: DataDirectoryLock? = try DataDirectoryLock(directory: directory)
        #expect(throws: DaemonError.self) { try DataDirectoryLock(directory: directory) }
        withExtendedLifetime(first) {}
        first = nil
        _ = try DataDirectoryLock(directory: directory)
    }
}
