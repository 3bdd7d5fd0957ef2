/// One Redis command: its arguments (binary-safe) and which of them is the key that routes it
/// to a hash slot.
public struct RedisCommand: Sendable {
    /// The arguments' bytes, back to back (one allocation however many arguments).
    private(set) var storage: [UInt8] = []
    /// Each argument's range in `storage`.
    private(set) var ranges: [Range<Int>] = []
    /// The index of the argument that is the routing key; nil for a command without keys
    /// (`PING`, `WAIT`, `CLUSTER SLOTS`), which may go to any node.
    public let keyIndex: Int?

    /// A command from text arguments; the key is argument `keyIndex` (default 1: `GET key`,
    /// `SET key value`, `EXISTS key`).
    public init(_ arguments: [String], keyIndex: Int? = 1) {
        self.keyIndex = keyIndex
        for argument in arguments { append(argument.utf8) }
    }

    /// A command whose name is `name`, followed by `arguments` (binary). The key is argument
    /// `keyIndex`.
    public init(_ name: String, _ arguments: [[UInt8]], keyIndex: Int? = 1) {
        self.keyIndex = keyIndex
        append(name.utf8)
        for argument in arguments { append(argument) }
    }

    /// Appends an argument.
    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        let start = storage.count
        storage.append(contentsOf: bytes)
        ranges.append(start..<storage.count)
    }

    /// The command's name (its first argument), for messages.
    public var name: String { ranges.first.map { String(decoding: storage[$0], as: UTF8.self) } ?? "" }

    /// The routing key's bytes; nil when the command has none.
    public var key: ArraySlice<UInt8>? {
        guard let keyIndex, keyIndex < ranges.count else { return nil }
        return storage[ranges[keyIndex]]
    }

    /// The slot the command goes to; nil without a key.
    public var slot: Int? { key.map { HashSlot.of($0) } }

    static let asking = RedisCommand(["ASKING"], keyIndex: nil)
}
