/// Which owners may share stored blocks: an administrator's explicit grant.
///
/// Every block is stored in the *namespace* of the session owner that wrote it, and the
/// namespace is mixed into the block's id (``BlockID/derive(namespace:descriptor:layer:prefixHash:)``),
/// so by default no two uids ever name the same block: one owner can neither read, replace nor
/// plant bytes under another's prefixes. A sharing group (`kvd serve --share-blocks 1000,1001`)
/// puts several uids in one namespace — the smallest uid of the group — so their sessions over
/// the same prefix store its blocks once. Even inside a group a block's bytes are never
/// substituted: an append whose bytes differ from the stored block of the same id is stored
/// under another id (``BlockID/alternative(_:)``). Quotas (`StoreConfiguration.ownerQuota`) are
/// counted per namespace.
public struct BlockSharing: Sendable, Hashable {
    /// Namespace of each uid that is in a group (absent: the uid itself).
    private let namespaces: [UInt32: UInt32]
    /// The groups, each sorted, in the order given.
    public let groups: [[UInt32]]

    /// No sharing: every uid is its own namespace.
    public init() {
        namespaces = [:]
        groups = []
    }

    /// Sharing groups. Throws `.invalidSharing` when a uid is in two groups or a group has fewer
    /// than two uids.
    public init(groups: [[UInt32]]) throws(StoreError) {
        var map: [UInt32: UInt32] = [:]
        var sorted: [[UInt32]] = []
        for group in groups {
            let members = Array(Set(group)).sorted()
            guard members.count >= 2, let namespace = members.first else {
                throw .invalidSharing(uid: group.first ?? 0)
            }
            for uid in members {
                guard map[uid] == nil else { throw .invalidSharing(uid: uid) }
                map[uid] = namespace
            }
            sorted.append(members)
        }
        namespaces = map
        self.groups = sorted
    }

    /// The namespace of `uid`'s blocks and quota: the smallest uid of its group, or `uid`.
    public func namespace(of uid: UInt32) -> UInt32 { namespaces[uid] ?? uid }
}
