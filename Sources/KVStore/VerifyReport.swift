import CoreTypes

/// The result of ``KVStore/verify()``.
public struct VerifyReport: Sendable, Equatable {
    /// One problem found.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        /// The block concerned (nil for a session-level problem).
        public var block: BlockID?
        /// The session concerned, when known.
        public var session: String?
        /// The kind of problem (stable code).
        public var kind: VerifyFailureKind
        /// What is wrong, in words (with the numbers involved).
        public var reason: String
        /// Memberwise initialiser.
        public init(block: BlockID?, session: String?, kind: VerifyFailureKind, reason: String) {
            self.block = block
            self.session = session
            self.kind = kind
            self.reason = reason
        }
        /// `block: reason` or `session: reason`.
        public var description: String {
            "\(block.map { "\($0)" } ?? session ?? "-"): \(reason)"
        }
    }

    /// Blocks whose payload was decoded and checked.
    public var blocksChecked: Int
    /// Block references (session, layer, position) checked.
    public var referencesChecked: Int
    /// Everything found wrong; empty means the store is sound.
    public var failures: [Failure]

    /// Whether nothing is wrong.
    public var isOK: Bool { failures.isEmpty }

    /// Memberwise initialiser.
    public init(blocksChecked: Int, referencesChecked: Int, failures: [Failure]) {
        self.blocksChecked = blocksChecked
        self.referencesChecked = referencesChecked
        self.failures = failures
    }
}
