import CoreTypes
import KVStore
import Protocol
import Testing
@testable import KVDaemon

struct StoreErrorMappingTests {
    @Test(arguments: [
        (StoreError.sessionExists, ErrorCode.sessionExists), (.sessionNotFound, .sessionNotFound),
        (.descriptorMismatch, .descriptorMismatch), (.badLayer, .badPosition), (.badPosition(expected: 1, got: 3), .badPosition),
        (.wrongSize(expected: 4, got: 2), .wrongDimensions), (.wrongKeyDimension(expected: 4, got: 2), .wrongDimensions),
        (.blockNotFound, .blockNotFound), (.mapFull, .storageFull), (.diskFull, .storageFull),
        (.capacityExceeded, .capacityExceeded), (.closed, .shuttingDown), (.invalidName, .badArgument),
        (.invalidDescriptor, .badArgument), (.corrupt, .storageError), (.lmdb(code: -30792), .storageError),
        (.io(errno: 5), .storageError), (.unsupportedFormat(version: 9), .storageError), (.locked, .storageError),
    ])
    func everyStoreErrorHasAStableWireCode(error: StoreError, code: ErrorCode) {
        let mapped = StoreErrorMapping.protocolError(for: error)
        #expect(mapped.code == code)
        #expect(mapped.message == error.description)
    }
}
