import Protocol
import CoreTypes
import Testing
@testable import KVDaemon

struct CheckpointSlotTests {
    @Test func roundTripsAllFields() throws {
        let worker: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let state: [UInt8] = (0..<77).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let slot = CheckpointSlot(chunkSequence: 0x0102_0304_0506_0708, tokenCount: 123_456, worker: worker, retrievalState: state)
        let decoded = try #require(CheckpointSlot(decoding: slot.encoded))
        #expect(decoded == slot)
    }

    @Test func rejectsTruncatedTrailingAndForeignBytes() {
        let encoded = CheckpointSlot(chunkSequence: 3, tokenCount: 96, worker: [9, 8, 7], retrievalState: [6]).encoded
        for cut in 0..<encoded.count {
            #expect(CheckpointSlot(decoding: Array(encoded[..<cut])) == nil, "truncated at \(cut)")
        }
        #expect(CheckpointSlot(decoding: encoded + [0]) == nil)
        var foreign = encoded
        foreign[0] = UInt8(ascii: "X")
        #expect(CheckpointSlot(decoding: foreign) == nil)
    }
}
