import CoreTypes

/// A block chosen by a `retrieve`.
public struct ChosenBlock: Sendable, Hashable {
    /// The block's id.
    public var id: BlockID
    /// Its index in the layer's list (token order).
    public var position: UInt32

    /// Creates an entry.
    public init(id: BlockID, position: UInt32) {
        self.id = id
        self.position = position
    }
}

/// The payload of a chosen block the caller did not hold.
public struct RecalledPayload: Sendable, Hashable {
    /// Index into ``RetrieveResult/chosen``.
    public var index: UInt32
    /// K then V, each `[kvHeads][blockSize][headDim]` 16-bit elements. A slice of the frame.
    public var payload: ArraySlice<UInt8>

    /// Creates an entry.
    public init(index: UInt32, payload: ArraySlice<UInt8>) {
        self.index = index
        self.payload = payload
    }
}

/// Reply to `retrieve` (type `retrieved`).
///
/// Layout: `k u32 | entropy f32 | density f32 | totalBlocks u32 | chosenCount u32 |
/// (id [16] | position u32) × chosenCount | payloadBytes u32 | payloadCount u32 |
/// (index u32 | payload [payloadBytes]) × payloadCount`. Payload indices are strictly
/// increasing and < chosenCount.
public struct RetrieveResult: WireBody {
    /// Blocks granted to this layer by the allocator (k_ℓ); `chosen.count == min(k, totalBlocks)`.
    public var k: UInt32
    /// Entropy of the softmax over the block scores (nats; 0 when N ≤ 1 or not computed).
    public var entropy: Float
    /// Normalised entropy ρ = entropy / ln N in [0, 1] (0 when not computed).
    public var density: Float
    /// Blocks N in the layer at the time of the request.
    public var totalBlocks: UInt32
    /// The chosen blocks, best score first.
    public var chosen: [ChosenBlock]
    /// Payloads of the chosen blocks not in the request's held ids (if payloads were
    /// wanted), in the order of `chosen`.
    public var payloads: [RecalledPayload]

    /// Creates the reply.
    public init(k: UInt32, entropy: Float, density: Float, totalBlocks: UInt32, chosen: [ChosenBlock], payloads: [RecalledPayload]) {
        self.k = k
        self.entropy = entropy
        self.density = density
        self.totalBlocks = totalBlocks
        self.chosen = chosen
        self.payloads = payloads
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        let payloadBytes = payloads.first?.payload.count ?? 0
        var previous: Int64 = -1
        for p in payloads {
            guard p.payload.count == payloadBytes else {
                throw ProtocolError(.badArgument, "retrieved payloads must share one size")
            }
            guard Int64(p.index) > previous, Int(p.index) < chosen.count else {
                throw ProtocolError(.badArgument, "retrieved payload indices must increase and be < chosen.count")
            }
            previous = Int64(p.index)
        }
        w.u32(k)
        w.f32(entropy)
        w.f32(density)
        w.u32(totalBlocks)
        w.u32(UInt32(chosen.count))
        for c in chosen {
            w.blockID(c.id)
            w.u32(c.position)
        }
        w.u32(UInt32(payloadBytes))
        w.u32(UInt32(payloads.count))
        for p in payloads {
            w.u32(p.index)
            w.raw(p.payload)
        }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> RetrieveResult {
        let k = try r.u32("retrieved.k")
        let entropy = try r.f32("retrieved.entropy")
        let density = try r.f32("retrieved.density")
        let total = try r.u32("retrieved.totalBlocks")
        let n = try r.count("retrieved.chosenCount", limit: limits.maxBlocksPerRequest, minimumElementBytes: 20)
        var chosen: [ChosenBlock] = []
        chosen.reserveCapacity(n)
        for _ in 0..<n {
            let id = try r.blockID("retrieved.chosen.id")
            let position = try r.u32("retrieved.chosen.position")
            chosen.append(ChosenBlock(id: id, position: position))
        }
        let payloadBytes = try r.u32("retrieved.payloadBytes")
        guard payloadBytes <= limits.maxFrameBytes else {
            throw ProtocolError(.limitExceeded, "retrieved.payloadBytes \(payloadBytes) exceeds the frame size")
        }
        let m = try r.count("retrieved.payloadCount", limit: UInt32(n), minimumElementBytes: 4 + Int(payloadBytes))
        guard (4 + Int(payloadBytes)) * m == r.remaining else {
            throw .malformed("retrieved: \(m) payloads of \(payloadBytes) bytes do not match the \(r.remaining) bytes left")
        }
        var payloads: [RecalledPayload] = []
        payloads.reserveCapacity(m)
        var previous: Int64 = -1
        for _ in 0..<m {
            let index = try r.u32("retrieved.payload.index")
            guard Int64(index) > previous, Int(index) < n else {
                throw .malformed("retrieved.payload.index \(index) out of order or ≥ \(n)")
            }
            previous = Int64(index)
            payloads.append(RecalledPayload(index: index, payload: try r.slice(count: Int(payloadBytes), "retrieved.payload")))
        }
        try r.expectEnd("retrieved")
        return RetrieveResult(k: k, entropy: entropy, density: density, totalBlocks: total, chosen: chosen, payloads: payloads)
    }
}
