import Testing
import Protocol

@Suite("Error codes")
struct ErrorCodeTests {
    @Test("codes keep their documented numbers")
    func stableNumbers() {
        let documented: [ErrorCode: UInt16] = [
            .malformedFrame: 1, .frameTooLarge: 2, .unsupportedVersion: 3, .badMagic: 4, .unknownMessageType: 5,
            .handshakeRequired: 6, .unexpectedMessage: 7, .limitExceeded: 8, .sessionNotFound: 10,
            .sessionExists: 11, .permissionDenied: 12, .descriptorMismatch: 13, .wrongDimensions: 14,
            .badPosition: 15, .blockNotFound: 16, .checkpointNotFound: 17, .sessionBusy: 18, .storageFull: 20,
            .capacityExceeded: 21, .storageError: 22, .quotaExceeded: 23, .badArgument: 30, .shuttingDown: 40, .overloaded: 41,
            .tooManyConnections: 42, .connectionTimedOut: 43,
            .internal: 50,
        ]
        #expect(documented.count == ErrorCode.allCases.count)
        for code in ErrorCode.allCases {
            #expect(code.rawValue == documented[code], "\(code)")
        }
    }

    @Test("names are unique and match the documentation spelling")
    func names() {
        let names = ErrorCode.allCases.map(\.description)
        #expect(Set(names).count == names.count)
        #expect(ErrorCode.internal.description == "internal")
        #expect(ProtocolError(.sessionNotFound, "x").description == "sessionNotFound (10): x")
    }

    @Test("framing and handshake failures close the connection; request errors do not")
    func closing() {
        #expect(ErrorCode.frameTooLarge.closesConnection)
        #expect(ErrorCode.badMagic.closesConnection)
        #expect(ErrorCode.unsupportedVersion.closesConnection)
        #expect(!ErrorCode.sessionNotFound.closesConnection)
        #expect(!ErrorCode.malformedFrame.closesConnection)
    }
}
