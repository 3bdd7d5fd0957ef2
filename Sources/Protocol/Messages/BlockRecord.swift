import CoreTypes

/// One closed block as appended by a worker (and returned by `fetchBlocks`).
///
/// Layout inside a batch (sizes `keyDim` and `payloadBytes` are given once per batch):
/// `layer u16 | position u32 | prefixHash [16] | representativeKey keyDim × f32 |
/// payload [payloadBytes]`.
public struct BlockRecord: Sendable, Hashable {
    /// Layer index, 0 ≤ layer < descriptor.layers.
    public var layer: UInt16
    /// Index of the block in its layer's list (append: must be the next free index).
    public var position: UInt32
    /// Hash of the token prefix this block ends.
    public var prefixHash: PrefixHash
    /// Representative key k̂, D = queryHeads · headDim floats.
    public var representativeKey: [Float]
    /// K then V, each `[kvHeads][blockSize][headDim]` 16-bit elements (little-endian), i.e.
    /// 2 · kvHeads · blockSize · headDim · 2 bytes. A contiguous range of the frame.
    public var payload: ArraySlice<UInt8>

    /// Creates a block record.
    public init(layer: UInt16, position: UInt32, prefixHash: PrefixHash, representativeKey: [Float], payload: ArraySlice<UInt8>) {
        self.layer = layer
        self.position = position
        self.prefixHash = prefixHash
        self.representativeKey = representativeKey
        self.payload = payload
    }

    /// The K half of the payload.
    public var keys: ArraySlice<UInt8> { payload.prefix(payload.count / 2) }
    /// The V half of the payload.
    public var values: ArraySlice<UInt8> { payload.suffix(payload.count / 2) }

    /// Bytes of one record on the wire for the given sizes (nil on overflow).
    static func wireBytes(keyDim: Int, payloadBytes: Int) -> Int {
        2 + 4 + 16 + 4 * keyDim + payloadBytes
    }

    func encode(into w: inout ByteWriter) {
        w.u16(layer)
        w.u32(position)
        w.prefixHash(prefixHash)
        w.floats(representativeKey)
        w.raw(payload)
    }

    static func decode(from r: inout WireReader, keyDim: Int, payloadBytes: Int) throws(ProtocolError) -> BlockRecord {
        let layer = try r.u16("block.layer")
        let position = try r.u32("block.position")
        let hash = try r.prefixHash("block.prefixHash")
        let key = try r.floats(count: keyDim, "block.representativeKey")
        let payload = try r.slice(count: payloadBytes, "block.payload")
        return BlockRecord(layer: layer, position: position, prefixHash: hash, representativeKey: key, payload: payload)
    }
}

/// The per-batch sizes header shared by `appendBlocks` and `blocks`:
/// `keyDim u32 | payloadBytes u32 | count u32`, followed by exactly `count` records.
struct BlockBatchSizes {
    var keyDim: Int
    var payloadBytes: Int
    var count: Int

    /// Sizes of `records` (all must agree; an empty batch has sizes 0).
    static func of(_ records: [BlockRecord]) throws(ProtocolError) -> BlockBatchSizes {
        let keyDim = records.first?.representativeKey.count ?? 0
        let payloadBytes = records.first?.payload.count ?? 0
        for r in records where r.representativeKey.count != keyDim || r.payload.count != payloadBytes {
            throw ProtocolError(.badArgument, "blocks of one batch must share key length and payload size")
        }
        guard payloadBytes % 4 == 0 else {
            throw ProtocolError(.badArgument, "payload of \(payloadBytes) bytes is not two halves of 16-bit elements")
        }
        return BlockBatchSizes(keyDim: keyDim, payloadBytes: payloadBytes, count: records.count)
    }

    func encode(into w: inout ByteWriter) {
        w.u32(UInt32(keyDim))
        w.u32(UInt32(payloadBytes))
        w.u32(UInt32(count))
    }

    /// Reads and validates the sizes: limits first, then `count × recordBytes` must equal
    /// exactly the bytes left after the header minus `perRecordExtra × count`.
    static func decode(
        from r: inout WireReader, limits: ProtocolLimits, perRecordExtra: Int, what: StaticString
    ) throws(ProtocolError) -> BlockBatchSizes {
        let keyDim = try r.u32(what)
        let payloadBytes = try r.u32(what)
        let count = try r.u32(what)
        guard keyDim <= limits.maxVectorDimension else {
            throw ProtocolError(.limitExceeded, "\(what): keyDim \(keyDim) exceeds \(limits.maxVectorDimension)")
        }
        guard payloadBytes <= limits.maxFrameBytes else {
            throw ProtocolError(.limitExceeded, "\(what): payloadBytes \(payloadBytes) exceeds the frame size")
        }
        guard payloadBytes % 4 == 0 else {
            throw ProtocolError(.badArgument, "\(what): payloadBytes \(payloadBytes) is not a multiple of 4")
        }
        guard count <= limits.maxBlocksPerRequest else {
            throw ProtocolError(.limitExceeded, "\(what): \(count) blocks exceed the limit \(limits.maxBlocksPerRequest)")
        }
        let record = BlockRecord.wireBytes(keyDim: Int(keyDim), payloadBytes: Int(payloadBytes)) + perRecordExtra
        let (total, overflow) = record.multipliedReportingOverflow(by: Int(count))
        guard !overflow, total == r.remaining else {
            throw .malformed("\(what): \(count) records of \(record) bytes do not match the \(r.remaining) bytes left")
        }
        return BlockBatchSizes(keyDim: Int(keyDim), payloadBytes: Int(payloadBytes), count: Int(count))
    }
}
