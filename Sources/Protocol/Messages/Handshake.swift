import CoreTypes

/// Client → server handshake opener (type `hello`). Must be the first frame on a connection.
///
/// Layout: `magic [4] = "KVD\0" | version u16 | maxFrameBytes u32`. Bytes after these 10 are
/// ignored, so later versions can extend their `hello` and still be answered with
/// `unsupportedVersion` by version-1 servers.
public struct Hello: WireBody {
    /// Protocol version the client speaks.
    public var version: UInt16
    /// The largest frame (`length` field) the client accepts, 64 KiB…1 GiB.
    public var maxFrameBytes: UInt32

    /// Creates a hello; defaults: current version, 64 MiB.
    public init(version: UInt16 = ProtocolVersion.current, maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes) {
        self.version = version
        self.maxFrameBytes = maxFrameBytes
    }

    func encode(into w: inout ByteWriter) {
        w.raw(ProtocolVersion.magic)
        w.u16(version)
        w.u32(maxFrameBytes)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> Hello {
        guard r.remaining >= 4 else {
            throw ProtocolError(.badMagic, "hello shorter than the magic")
        }
        let magic = try r.slice(count: 4, "hello.magic")
        guard magic.elementsEqual(ProtocolVersion.magic) else {
            throw ProtocolError(.badMagic, "hello magic is \(Array(magic)), expected \"KVD\\0\"")
        }
        let version = try r.u16("hello.version")
        let maxFrame = try r.u32("hello.maxFrameBytes")
        _ = try r.slice(count: r.remaining, "hello.extension")
        guard (ProtocolLimits.minimumMaxFrameBytes...ProtocolLimits.absoluteMaxFrameBytes).contains(maxFrame) else {
            throw ProtocolError(.badArgument, "hello.maxFrameBytes \(maxFrame) not in 64 KiB…1 GiB")
        }
        return Hello(version: version, maxFrameBytes: maxFrame)
    }
}

/// Server → client successful handshake (type `helloOK`).
///
/// Layout: `version u16 | maxFrameBytes u32 | maxBlocksPerRequest u32 | peerUID u32 |
/// peerGID u32`.
public struct HelloOK: WireBody {
    /// The version the server will speak on this connection.
    public var version: UInt16
    /// The largest frame (`length` field) the server accepts.
    public var maxFrameBytes: UInt32
    /// The most blocks the server accepts in one append/fetch, or returns in one retrieve.
    public var maxBlocksPerRequest: UInt32
    /// The client's uid as the server sees it (SO_PEERCRED); sessions are owned by it.
    public var peerUID: UInt32
    /// The client's gid as the server sees it.
    public var peerGID: UInt32

    /// Creates a handshake reply.
    public init(version: UInt16, maxFrameBytes: UInt32, maxBlocksPerRequest: UInt32, peerUID: UInt32, peerGID: UInt32) {
        self.version = version
        self.maxFrameBytes = maxFrameBytes
        self.maxBlocksPerRequest = maxBlocksPerRequest
        self.peerUID = peerUID
        self.peerGID = peerGID
    }

    func encode(into w: inout ByteWriter) {
        w.u16(version)
        w.u32(maxFrameBytes)
        w.u32(maxBlocksPerRequest)
        w.u32(peerUID)
        w.u32(peerGID)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> HelloOK {
        let v = HelloOK(
            version: try r.u16("helloOK.version"),
            maxFrameBytes: try r.u32("helloOK.maxFrameBytes"),
            maxBlocksPerRequest: try r.u32("helloOK.maxBlocksPerRequest"),
            peerUID: try r.u32("helloOK.peerUID"),
            peerGID: try r.u32("helloOK.peerGID"))
        try r.expectEnd("helloOK")
        guard (ProtocolLimits.minimumMaxFrameBytes...ProtocolLimits.absoluteMaxFrameBytes).contains(v.maxFrameBytes) else {
            throw ProtocolError(.badArgument, "helloOK.maxFrameBytes \(v.maxFrameBytes) not in 64 KiB…1 GiB")
        }
        return v
    }
}
