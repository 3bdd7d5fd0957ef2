import Protocol
import CoreTypes
import Testing
@testable import KVDaemon

struct PinRegistryTests {
    @Test func firstAcquireAndLastReleaseAreReported() {
        let pins = PinRegistry()
        #expect(pins.acquire("a"))
        #expect(!pins.acquire("a"))
        #expect(pins.holderCount("a") == 2)
        #expect(!pins.release("a"))
        #expect(pins.release("a"))
        #expect(pins.holderCount("a") == 0)
        #expect(!pins.release("a"), "releasing an unheld session is not a last release")
    }
}
