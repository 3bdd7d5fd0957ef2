import CoreTypes
import KVStore

/// What the shared tier holds of one session (docs/TIER.md "What lives in the cluster"): its
/// owner, model descriptor and, per layer, each block's id with the checksum and lengths its
/// writer published — what a reader checks a fetched payload against. One generation of
/// representative keys and checkpoint goes with it under keys of their own.
///
/// Encoding (little-endian): `"KVTM" ‖ version u16 (= 1) ‖ generation u64 ‖ owner u32 ‖
/// namespace u32 ‖ descriptor (the wire's 19 bytes: layers u16, queryHeads u16, kvHeads u16,
/// headDim u16, elementType u8, blockSize u16, fingerprint u64) ‖ flags u8 (bit 0: has
/// checkpoint) ‖ name length u16 ‖ name (UTF-8, as stored: "<uid>/<name>") ‖ layers × (count u32 ‖
/// count × (id 16 ‖ CRC-32C u32 ‖ raw length u32 ‖ stored length u32 ‖ prefix hash 16))`.
struct SessionManifest: Sendable, Equatable {
    static let magic: [UInt8] = Array("KVTM".utf8)
    static let version: UInt16 = 1
    /// Bytes of one block entry.
    static let entryBytes = 16 + 4 + 4 + 4 + 16

    struct Entry: Sendable, Equatable {
        var id: BlockID
        /// CRC-32C of the raw payload.
        var checksum: UInt32
        var rawBytes: Int
        var storedBytes: Int
        var prefixHash: PrefixHash
    }

    /// Bumped by every publication; names the generation's keys and checkpoint.
    var generation: UInt64
    /// The session's name as stored (`"<uid>/<name>"`).
    var name: String
    var owner: UInt32
    /// The owner namespace its blocks were written in (docs/STORAGE.md "Block identity").
    var namespace: UInt32
    var descriptor: ModelDescriptor
    var hasCheckpoint: Bool
    /// Per layer, the blocks in position order.
    var layers: [[Entry]]

    init(snapshot: SessionSnapshot, generation: UInt64, namespace: UInt32) {
        self.generation = generation
        name = snapshot.record.name
        owner = snapshot.record.owner
        self.namespace = namespace
        descriptor = snapshot.record.descriptor
        hasCheckpoint = snapshot.checkpoint != nil
        layers = snapshot.layers.map { blocks in
            blocks.map {
                Entry(id: $0.info.id, checksum: $0.info.checksum, rawBytes: $0.info.rawBytes, storedBytes: $0.info.storedBytes,
                      prefixHash: $0.info.prefixHash)
            }
        }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(reservingCapacity: 64 + name.utf8.count + layers.reduce(0) { $0 + 4 + $1.count * Self.entryBytes })
        w.raw(Self.magic)
        w.u16(Self.version)
        w.u64(generation)
        w.u32(owner)
        w.u32(namespace)
        w.u16(UInt16(descriptor.layers))
        w.u16(UInt16(descriptor.queryHeads))
        w.u16(UInt16(descriptor.kvHeads))
        w.u16(UInt16(descriptor.headDim))
        w.u8(descriptor.elementType.rawValue)
        w.u16(UInt16(descriptor.blockSize))
        w.u64(descriptor.fingerprint)
        w.u8(hasCheckpoint ? 1 : 0)
        w.u16(UInt16(name.utf8.count))
        w.raw(Array(name.utf8))
        for entries in layers {
            w.u32(UInt32(entries.count))
            for entry in entries {
                w.blockID(entry.id)
                w.u32(entry.checksum)
                w.u32(UInt32(entry.rawBytes))
                w.u32(UInt32(entry.storedBytes))
                w.prefixHash(entry.prefixHash)
            }
        }
        return w.bytes
    }

    /// Decodes and checks a manifest: magic, version, a valid descriptor, one list per layer,
    /// counts within the bytes given, nothing left over. Throws ``ManifestError``.
    static func decode(_ bytes: [UInt8]) throws(ManifestError) -> SessionManifest {
        var r = ByteReader(bytes[...], failure: ManifestError.self)
        guard Array(try r.slice(count: 4, "magic")) == magic else { throw .malformed("not a session manifest") }
        let version = try r.u16("version")
        guard version == Self.version else { throw .malformed("manifest version \(version), this kvd reads \(Self.version)") }
        let generation = try r.u64("generation")
        let owner = try r.u32("owner")
        let namespace = try r.u32("namespace")
        let layerCount = Int(try r.u16("layers")), queryHeads = Int(try r.u16("queryHeads")), kvHeads = Int(try r.u16("kvHeads"))
        let headDim = Int(try r.u16("headDim"))
        let rawType = try r.u8("elementType")
        let blockSize = Int(try r.u16("blockSize"))
        let fingerprint = try r.u64("fingerprint")
        guard let elementType = ElementType(rawValue: rawType) else { throw .malformed("unknown element type \(rawType)") }
        let descriptor = ModelDescriptor(
            layers: layerCount, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, elementType: elementType,
            blockSize: blockSize, fingerprint: fingerprint)
        guard descriptor.isValid else { throw .malformed("invalid model descriptor") }
        let flags = try r.u8("flags")
        let nameLength = Int(try r.u16("name length"))
        let name = String(decoding: try r.slice(count: nameLength, "name"), as: UTF8.self)
        var layers: [[Entry]] = []
        layers.reserveCapacity(layerCount)
        for _ in 0..<layerCount {
            let count = Int(try r.u32("block count"))
            guard count <= r.remaining / entryBytes else { throw .malformed("\(count) blocks in \(r.remaining) bytes") }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                entries.append(Entry(
                    id: try r.blockID(), checksum: try r.u32("checksum"), rawBytes: Int(try r.u32("raw length")),
                    storedBytes: Int(try r.u32("stored length")), prefixHash: try r.prefixHash()))
            }
            layers.append(entries)
        }
        guard r.remaining == 0 else { throw .malformed("\(r.remaining) bytes after the last layer") }
        return SessionManifest(
            generation: generation, name: name, owner: owner, namespace: namespace, descriptor: descriptor,
            hasCheckpoint: flags & 1 != 0, layers: layers)
    }

    private init(generation: UInt64, name: String, owner: UInt32, namespace: UInt32, descriptor: ModelDescriptor, hasCheckpoint: Bool, layers: [[Entry]]) {
        self.generation = generation
        self.name = name
        self.owner = owner
        self.namespace = namespace
        self.descriptor = descriptor
        self.hasCheckpoint = hasCheckpoint
        self.layers = layers
    }
}

/// A session manifest read from the tier that cannot be used.
enum ManifestError: Error, Equatable, ByteReaderFailure {
    case truncated(field: String, offset: Int)
    case malformed(String)

    static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> ManifestError {
        .truncated(field: "\(what)", offset: offset)
    }
}
