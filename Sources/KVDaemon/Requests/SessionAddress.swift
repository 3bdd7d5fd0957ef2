import KVStore
import Protocol

/// Where a request's session name points. Each owner (uid) has its own namespace of session
/// names — two users may both have a session `doc`, and neither can tell whether the other's
/// exists — so the store keeps every session as `"<owner uid>/<name>"` (``storeName``).
///
/// A plain name in a request is in the peer's own namespace. `UID/NAME` addresses the session
/// `NAME` of owner `UID`: allowed for an administrator (``AccessPolicy``), and for the peer's
/// own uid; for anyone else it is `sessionNotFound`, as if it did not exist.
struct SessionAddress: Hashable, Sendable {
    /// The owning uid.
    let owner: UInt32
    /// The name within the owner's namespace.
    let name: String

    /// The store's name of the session.
    var storeName: String { "\(owner)/\(name)" }

    init(owner: UInt32, name: String) {
        self.owner = owner
        self.name = name
    }

    /// Parses a store name (`"<owner>/<name>"`); nil for a name of another form.
    init?(storeName: String) {
        guard let (owner, name) = Self.split(storeName) else { return nil }
        self.init(owner: owner, name: name)
    }

    /// Resolves a request's session name for `peer` under `policy`. Throws `sessionNotFound`
    /// for a qualified name of another owner when the peer is not an administrator.
    static func resolve(_ requested: String, peer: PeerCredentials, policy: AccessPolicy) throws(ProtocolError) -> SessionAddress {
        guard let (owner, name) = split(requested) else { return SessionAddress(owner: peer.uid, name: requested) }
        guard owner == peer.uid || policy.seesAllSessions(peer) else {
            throw ProtocolError(.sessionNotFound, "no session \"\(SessionName.printable(requested))\"")
        }
        return SessionAddress(owner: owner, name: name)
    }

    /// The name `peer` sees for this session: plain for its own, `UID/NAME` for another owner's
    /// (only administrators see those).
    func displayName(for peer: PeerCredentials) -> String {
        owner == peer.uid ? name : storeName
    }

    /// `"<decimal uid>/<non-empty rest>"` split into its parts; nil otherwise.
    private static func split(_ qualified: String) -> (UInt32, String)? {
        let bytes = Array(qualified.utf8)
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")), slash > 0, slash < bytes.count - 1,
              slash <= 10, bytes[..<slash].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let owner = UInt32(String(decoding: bytes[..<slash], as: UTF8.self))
        else { return nil }
        return (owner, String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    /// Moves sessions stored before owners had namespaces (a store name not of the form
    /// `"<its owner>/…"`) into their owner's namespace, keeping the name: `doc` of uid 1000
    /// becomes `1000/doc`. A name taken there already gets the suffix `~legacy<id>`. Idempotent;
    /// kvd calls it once at start-up, before serving.
    static func qualifyLegacyNames(in store: KVStore) async throws(StoreError) -> Int {
        let sessions = store.sessions()
        var taken = Set(sessions.map(\.name))
        var renames: [(from: String, to: String)] = []
        for record in sessions {
            if let address = SessionAddress(storeName: record.name), address.owner == record.owner { continue }
            var target = SessionAddress(owner: record.owner, name: record.name).storeName
            if taken.contains(target) { target += "~legacy\(record.id)" }
            taken.insert(target)
            renames.append((record.name, target))
        }
        try await store.renameSessions(renames)
        return renames.count
    }
}
