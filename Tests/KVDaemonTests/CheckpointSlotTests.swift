import Testing
@testable import KVDaemon

struct CheckpointSlotTests {
    @Test func roundTripsWorkerAndRetrievalState() throws {
        let worker: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let state: [UInt8] = (0..<77).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let slot = CheckpointSlot(worker: worker, retrievalState: state)
        let decoded = try #require(CheckpointSlot(decoding: slot.encoded))
        #expect(decoded == slot)
    }

    @Test func distinguishesMissingFromEmptyWorkerCheckpoint() throws {
        let missing = try #require(CheckpointSlot(decoding: CheckpointSlot(worker: nil, retrievalState: [1, 2]).encoded))
        let empty = try #require(CheckpointSlot(decoding: CheckpointSlot(worker: [], retrievalState: [1, 2]).encoded))
        #expect(missing.worker == nil)
        #expect(empty.worker == [])
    }

    @Test func rejectsTruncatedTrailingAndForeignBytes() {
        let encoded = CheckpointSlot(worker: [9, 8, 7], retrievalState: [6]).encoded
        for cut in 0..<encoded.count {
            #expect(CheckpointSlot(decoding: Array(encoded[..<cut])) == nil, "truncated at \(cut)")
        }
        #expect(CheckpointSlot(decoding: encoded + [0]) == nil)
        var foreign = encoded
        foreign[0] = UInt8(ascii: "X")
        #expect(CheckpointSlot(decoding: foreign) == nil)
    }
}
