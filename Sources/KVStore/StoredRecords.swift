import CoreTypes

/// Keys and values of the named LMDB databases (docs/STORAGE.md, "Layout"). All integers
/// little-endian except inside keys that must sort (big-endian there).
package enum StorageKeys {
    /// `sessions` key: the session name's UTF-8 bytes.
    static func session(_ name: String) -> [UInt8] { Array(name.utf8) }

    /// `layers` key: session id u64 BE ‖ layer u32 BE ‖ position u32 BE (16 bytes).
    package static func layerEntry(session: UInt64, layer: Int, position: Int) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: 16)
        ByteCoding.putBE(session, into: &k, at: 0)
        ByteCoding.putBE(UInt32(layer), into: &k, at: 8)
        ByteCoding.putBE(UInt32(position), into: &k, at: 12)
        return k
    }

    /// `layers` key prefix of all entries of a session (8 bytes).
    static func layerPrefix(session: UInt64) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: 8)
        ByteCoding.putBE(session, into: &k, at: 0)
        return k
    }

    /// `blocks` and `payloads` key: the 16-byte block id.
    static func block(_ id: BlockID) -> [UInt8] { id.bytes }

    /// `checkpoints` key: session id u64 BE.
    static func checkpoint(session: UInt64) -> [UInt8] { layerPrefix(session: session) }

    /// `meta` key of the next session id (value u64 LE).
    static let nextSessionID = Array("nextSessionID".utf8)
}

/// A `sessions` value: the session id and its record.
///
/// `version u8 (1) ‖ flags u8 (bit 0: has checkpoint) ‖ elementType u8 ‖ 0 u8 ‖ id u64 ‖
/// owner u32 ‖ layers u32 ‖ queryHeads u32 ‖ kvHeads u32 ‖ headDim u32 ‖ blockSize u32 ‖
/// fingerprint u64 ‖ createdAt u64 ‖ lastUsed u64 ‖ useSequence u64 ‖ storedBytes u64 ‖
/// nameLength u16 ‖ name ‖
/// layers × blocks u32`.
struct SessionValue: Equatable {
    var id: UInt64
    var record: SessionRecord
    /// Position in the store's use order (larger = more recently used); orders LRU eviction
    /// across restarts more finely than `lastUsed` seconds.
    var useSequence: UInt64 = 0

    func encoded() -> [UInt8] {
        let r = record
        var w = ByteWriter(reservingCapacity: 80 + r.blocksPerLayer.count * 4)
        w.u8(1)
        w.u8(r.hasCheckpoint ? 1 : 0)
        w.u8(r.descriptor.elementType.rawValue)
        w.u8(0)
        w.u64(id)
        w.u32(r.owner)
        let d = r.descriptor
        for v in [d.layers, d.queryHeads, d.kvHeads, d.headDim, d.blockSize] { w.u32(UInt32(v)) }
        w.u64(d.fingerprint)
        w.u64(r.createdAt)
        w.u64(r.lastUsed)
        w.u64(useSequence)
        w.u64(UInt64(r.storedBytes))
        let name = Array(r.name.utf8)
        w.u16(UInt16(name.count))
        w.bytes += name
        for n in r.blocksPerLayer { w.u32(UInt32(n)) }
        return w.bytes
    }

    static func decode(_ b: UnsafeRawBufferPointer) throws(StoreError) -> SessionValue {
        var r = RecordReader(b)
        guard try r.u8() == 1 else { throw .corrupt }
        let flags = try r.u8()
        guard let element = ElementType(rawValue: try r.u8()) else { throw .corrupt }
        _ = try r.u8()
        let id = try r.u64()
        let owner = try r.u32()
        let layers = Int(try r.u32()), qh = Int(try r.u32()), kvh = Int(try r.u32())
        let hd = Int(try r.u32()), bs = Int(try r.u32())
        let fingerprint = try r.u64()
        let createdAt = try r.u64(), lastUsed = try r.u64(), sequence = try r.u64(), stored = Int(try r.u64())
        let nameLength = Int(try r.u16())
        let name = String(decoding: try r.slice(count: nameLength), as: UTF8.self)
        guard r.remaining == layers * 4 else { throw .corrupt }
        var counts = [Int]()
        counts.reserveCapacity(layers)
        for _ in 0..<layers { counts.append(Int(try r.u32())) }
        let d = ModelDescriptor(
            layers: layers, queryHeads: qh, kvHeads: kvh, headDim: hd, elementType: element,
            blockSize: bs, fingerprint: fingerprint)
        guard d.isValid else { throw .corrupt }
        return SessionValue(
            id: id,
            record: SessionRecord(
                name: name, id: id, owner: owner, descriptor: d, blocksPerLayer: counts, createdAt: createdAt,
                lastUsed: lastUsed, storedBytes: stored, hasCheckpoint: flags & 1 != 0),
            useSequence: sequence)
    }
}

/// A `blocks` value: metadata of one stored block.
///
/// `version u8 (3) ‖ codec u8 ‖ flags u16 (bit 0: remote) ‖ refcount u32 ‖ layer u32 ‖ rawLength u32 ‖
/// storedLength u32 ‖ checksum u32 (CRC-32C of the raw payload) ‖ keyDimension u32 ‖
/// keyDimension × Float32 (the representative key) ‖ prefixHash 16 bytes ‖ namespace u32`.
/// Version 1 ends after the key, version 2 after the prefix hash; both still decode (a store
/// opened by this version upgrades them to 3, `StoreLoader`).
struct BlockMeta {
    var codec: UInt8
    var refcount: UInt32
    var layer: UInt32
    var rawLength: Int
    var storedLength: Int
    var checksum: UInt32
    var key: [Float]
    /// The prefix hash the block was appended with (zero for records of version 1, which did
    /// not keep it; the block id is a one-way hash of it).
    var prefixHash: PrefixHash
    /// The owner namespace the block was written in and is charged to (``BlockSharing``); nil
    /// for records of versions 1 and 2, which did not keep it.
    var namespace: UInt32?
    /// The payload is not held here but in the shared tier (a block of a session materialised
    /// from the tier, docs/TIER.md "Reading through"): no `payloads` entry, not charged to the
    /// capacity or any quota until ``KVStore/storePulled(_:forSession:)`` stores it. Kept in the
    /// flags field, which older versions wrote as 0.
    var remote = false

    static let fixedBytes = 28

    /// Always encodes version 3 (a nil namespace as 0).
    func encoded() -> [UInt8] {
        var w = ByteWriter(reservingCapacity: BlockMeta.fixedBytes + key.count * 4 + 20)
        w.u8(3)
        w.u8(codec)
        w.u16(remote ? 1 : 0)
        w.u32(refcount)
        w.u32(layer)
        w.u32(UInt32(rawLength))
        w.u32(UInt32(storedLength))
        w.u32(checksum)
        w.u32(UInt32(key.count))
        for f in key { w.f32(f) }
        w.u64(prefixHash.high)
        w.u64(prefixHash.low)
        w.u32(namespace ?? 0)
        return w.bytes
    }

    /// Decodes everything but the key (cheap).
    static func decodeHeader(_ b: UnsafeRawBufferPointer) throws(StoreError) -> (meta: BlockMeta, keyDimension: Int) {
        var r = RecordReader(b)
        let version = try r.u8()
        guard (1...3).contains(version) else { throw .corrupt }
        let codec = try r.u8()
        let flags = try r.u16()
        let refcount = try r.u32(), layer = try r.u32()
        let raw = Int(try r.u32()), stored = Int(try r.u32())
        let checksum = try r.u32()
        let dim = Int(try r.u32())
        let trailer = [0, 16, 20][Int(version) - 1]
        guard r.remaining == dim * 4 + trailer else { throw .corrupt }
        let end = fixedBytes + dim * 4
        let prefix = version >= 2
            ? PrefixHash(high: ByteCoding.uint64(b, at: end), low: ByteCoding.uint64(b, at: end + 8))
            : PrefixHash(high: 0, low: 0)
        let namespace = version >= 3 ? ByteCoding.uint32(b, at: end + 16) : nil
        return (BlockMeta(codec: codec, refcount: refcount, layer: layer, rawLength: raw, storedLength: stored,
                          checksum: checksum, key: [], prefixHash: prefix, namespace: namespace, remote: flags & 1 != 0), dim)
    }

    static func decode(_ b: UnsafeRawBufferPointer) throws(StoreError) -> BlockMeta {
        var (meta, dim) = try decodeHeader(b)
        meta.key = (0..<dim).map { Float(bitPattern: ByteCoding.uint32(b, at: fixedBytes + 4 * $0)) }
        return meta
    }

    /// The public view of this record for block `id`.
    func info(id: BlockID) -> BlockInfo {
        BlockInfo(
            id: id, layer: Int(layer), codec: codec, referenceCount: Int(refcount),
            rawBytes: rawLength, storedBytes: storedLength, checksum: checksum, prefixHash: prefixHash)
    }

    /// Whether this record describes the block with these fields: same owner namespace, raw
    /// length, checksum (of the raw payload) and bit-identical representative key. The one
    /// identity check of a stored block (an append's retry, a materialised session's block).
    func describes(namespace: UInt32, rawLength: Int, checksum: UInt32, key: [Float]) -> Bool {
        self.namespace == namespace && self.rawLength == rawLength && self.checksum == checksum
            && self.key.count == key.count && zip(self.key, key).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    /// Copies the key floats straight into `destination` (dimension floats).
    static func copyKey(_ b: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Float>, dimension: Int) {
        for i in 0..<dimension {
            destination[i] = Float(bitPattern: ByteCoding.uint32(b, at: fixedBytes + 4 * i))
        }
    }
}
