import KVStore
import Protocol

/// Maps the store's typed errors to the wire's stable error codes.
enum StoreErrorMapping {
    static func protocolError(for error: StoreError) -> ProtocolError {
        let code: ErrorCode = switch error {
        case .sessionExists: .sessionExists
        case .sessionNotFound: .sessionNotFound
        case .descriptorMismatch: .descriptorMismatch
        case .badLayer, .badPosition: .badPosition
        case .wrongSize, .wrongKeyDimension: .wrongDimensions
        case .blockNotFound: .blockNotFound
        case .mapFull, .diskFull: .storageFull
        case .capacityExceeded: .capacityExceeded
        case .quotaExceeded: .quotaExceeded
        case .closed: .shuttingDown
        case .invalidName, .invalidDescriptor, .invalidSharing: .badArgument
        case .corrupt, .lmdb, .io, .unsupportedFormat, .locked, .idConflict: .storageError
        }
        return ProtocolError(code, error.description)
    }
}
