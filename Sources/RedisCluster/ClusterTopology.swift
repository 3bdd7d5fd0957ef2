/// Which master serves each of the 16384 hash slots, and the replicas of each master, as one
/// node reported them in `CLUSTER SLOTS` (which leaves out a replica that has not yet received
/// any data: the replica lists are for finding nodes, not for counting copies).
struct ClusterTopology: Sendable, Equatable {
    /// The master of each slot; nil for a slot no master serves.
    var masters: [RedisEndpoint?]
    /// The replicas of each master.
    var replicas: [RedisEndpoint: [RedisEndpoint]]

    /// Every node named, masters first.
    var nodes: [RedisEndpoint] {
        var seen = Set<RedisEndpoint>()
        var nodes: [RedisEndpoint] = []
        for master in masters.compactMap({ $0 }) where seen.insert(master).inserted { nodes.append(master) }
        for replica in replicas.values.joined() where seen.insert(replica).inserted { nodes.append(replica) }
        return nodes
    }

    /// Number of slots with a master.
    var coveredSlots: Int { masters.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Parses a `CLUSTER SLOTS` reply: an array of `[start, end, master, replica…]`, each node
    /// `[host, port, id, …]`. An empty host (a node that does not know its address) means the
    /// node that answered, `source`.
    init(clusterSlots reply: RedisReply, source: RedisEndpoint) throws(RedisError) {
        guard case .array(let ranges) = reply else { throw .unexpectedReply("CLUSTER SLOTS answered \(reply)") }
        masters = Array(repeating: nil, count: HashSlot.count)
        replicas = [:]
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3,
                case .integer(let start) = fields[0], case .integer(let end) = fields[1],
                0 <= start, start <= end, end < HashSlot.count
            else { throw .unexpectedReply("CLUSTER SLOTS range \(range)") }
            var nodes: [RedisEndpoint] = []
            for field in fields[2...] {
                guard case .array(let node) = field, node.count >= 2, let host = node[0].string, case .integer(let port) = node[1],
                    (1...65535).contains(port)
                else { throw .unexpectedReply("CLUSTER SLOTS node \(field)") }
                nodes.append(RedisEndpoint(host: host.isEmpty || host == "?" ? source.host : host, port: Int(port)))
            }
            for slot in Int(start)...Int(end) { masters[slot] = nodes[0] }
            replicas[nodes[0], default: []].append(contentsOf: nodes.dropFirst().filter { !replicas[nodes[0], default: []].contains($0) })
        }
    }

    init(masters: [RedisEndpoint?], replicas: [RedisEndpoint: [RedisEndpoint]]) {
        self.masters = masters
        self.replicas = replicas
    }
}
