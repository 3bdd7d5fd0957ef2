import CHiredis

/// One RESP2 reply, copied out of hiredis's reply object.
public enum RedisReply: Sendable, Equatable {
    /// A bulk string (binary-safe).
    case bulk([UInt8])
    /// A status line (`+OK`).
    case status(String)
    /// An error line (`-ERR …`, `-MOVED 3999 127.0.0.1:6381`), without the leading `-`.
    case error(String)
    case integer(Int64)
    /// A multi-bulk reply.
    case array([RedisReply])
    /// The null bulk string or null array.
    case null

    /// The bytes of a bulk string; nil for any other reply.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// A bulk string or status as text.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// Copies hiredis's reply tree (the caller frees it).
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .bulk(r.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: r.str, count: r.len)))
        case REDIS_REPLY_STATUS:
            self = .status(r.len == 0 ? "" : String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(r.len == 0 ? "" : String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<r.elements).map { RedisReply(UnsafePointer(r.element[$0]!)) })
        default:
            self = .null
        }
    }
}

/// An error reply's cluster meaning (the Redis Cluster specification, "Redirection and
/// resharding" and "Failure detection").
enum ClusterErrorReply: Equatable {
    /// `MOVED slot host:port`: the slot lives there from now on.
    case moved(slot: Int, to: RedisEndpoint)
    /// `ASK slot host:port`: this one command (after `ASKING`) goes there; the map is unchanged.
    case ask(slot: Int, to: RedisEndpoint)
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`: a transient state; retry later.
    case transient(String)
    /// `NOAUTH`, `WRONGPASS`, `NOPERM`: not allowed.
    case auth(String)
    /// Any other error: the command's own failure.
    case other(String)

    init(_ message: String) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        let head = words.first.map(String.init) ?? ""
        switch head {
        case "MOVED", "ASK":
            if words.count == 3, let slot = Int(words[1]), (0..<HashSlot.count).contains(slot),
                let endpoint = try? RedisEndpoint(parsing: String(words[2])) {
                self = head == "MOVED" ? .moved(slot: slot, to: endpoint) : .ask(slot: slot, to: endpoint)
            } else {
                self = .other(message)
            }
        case "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "READONLY":
            // READONLY: a node that was a master became a replica (failover) before the client
            // refreshed its map.
            self = .transient(message)
        case "NOAUTH", "WRONGPASS", "NOPERM":
            self = .auth(message)
        default:
            self = .other(message)
        }
    }
}
