import CoreTypes

/// The question term of a `retrieve`: vector u (D floats) and its weight λ.
public struct QuestionTerm: Sendable, Hashable {
    /// The question vector u, D floats (same length as the probe).
    public var vector: [Float]
    /// The weight λ (reference default 4).
    public var weight: Float

    /// Creates a question term.
    public init(vector: [Float], weight: Float) {
        self.vector = vector
        self.weight = weight
    }
}

/// Score one layer's blocks and return the chosen ones (type `retrieve`).
///
/// Layout: `session | layer u16 | method u8 | mode u8 | options u8 (bit 0: question present,
/// bit 1: payloads wanted) | chunkSequence u64 | dim u32 | probe dim × f32 |
/// [question dim × f32 | questionWeight f32] (only if bit 0) | heldCount u32 |
/// held id [16] × heldCount`.
public struct RetrieveRequest: WireBody {
    /// Session name.
    public var session: String
    /// Layer index, 0 ≤ layer < descriptor.layers.
    public var layer: UInt16
    /// Selection method.
    public var method: RetrievalMethod
    /// Prefill or decode mode.
    public var mode: RetrievalMode
    /// Sequence number of the execution chunk; the daemon keeps one block pool per chunk
    /// sequence and layers of the same chunk draw from it in order.
    public var chunkSequence: UInt64
    /// The probe-query, D = queryHeads · headDim floats.
    public var probe: [Float]
    /// Optional question term (same length as the probe).
    public var question: QuestionTerm?
    /// Ids already in the caller's block cache: their payloads are not sent back.
    public var heldIDs: [BlockID]
    /// Whether payloads of chosen, not-held blocks are wanted in the reply.
    public var wantPayloads: Bool

    /// Creates the request.
    public init(
        session: String, layer: UInt16, method: RetrievalMethod, mode: RetrievalMode, chunkSequence: UInt64,
        probe: [Float], question: QuestionTerm? = nil, heldIDs: [BlockID] = [], wantPayloads: Bool = true
    ) {
        self.session = session
        self.layer = layer
        self.method = method
        self.mode = mode
        self.chunkSequence = chunkSequence
        self.probe = probe
        self.question = question
        self.heldIDs = heldIDs
        self.wantPayloads = wantPayloads
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        if let q = question, q.vector.count != probe.count {
            throw ProtocolError(.wrongDimensions, "question has \(q.vector.count) floats, probe \(probe.count)")
        }
        try w.sessionName(session)
        w.u16(layer)
        w.u8(method.rawValue)
        w.u8(mode.rawValue)
        w.u8((question == nil ? 0 : 1) | (wantPayloads ? 2 : 0))
        w.u64(chunkSequence)
        w.u32(UInt32(probe.count))
        w.floats(probe)
        if let q = question {
            w.floats(q.vector)
            w.f32(q.weight)
        }
        w.u32(UInt32(heldIDs.count))
        for id in heldIDs { w.blockID(id) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> RetrieveRequest {
        let session = try r.sessionName("retrieve.session")
        let layer = try r.u16("retrieve.layer")
        let rawMethod = try r.u8("retrieve.method")
        let rawMode = try r.u8("retrieve.mode")
        let options = try r.options("retrieve.options", known: 0x03)
        let sequence = try r.u64("retrieve.chunkSequence")
        guard let method = RetrievalMethod(rawValue: rawMethod) else {
            throw ProtocolError(.badArgument, "retrieve.method \(rawMethod) is unknown")
        }
        guard let mode = RetrievalMode(rawValue: rawMode) else {
            throw ProtocolError(.badArgument, "retrieve.mode \(rawMode) is unknown")
        }
        let dim = try r.count("retrieve.dim", limit: limits.maxVectorDimension, minimumElementBytes: 4)
        let probe = try r.floats(count: dim, "retrieve.probe")
        var question: QuestionTerm?
        if options & 1 != 0 {
            let vector = try r.floats(count: dim, "retrieve.question")
            let weight = try r.f32("retrieve.questionWeight")
            question = QuestionTerm(vector: vector, weight: weight)
        }
        let held = try r.count("retrieve.heldCount", limit: limits.maxHeldIDs, minimumElementBytes: 16)
        let ids = try r.blockIDs(count: held, "retrieve.heldIDs")
        try r.expectEnd("retrieve")
        return RetrieveRequest(
            session: session, layer: layer, method: method, mode: mode, chunkSequence: sequence,
            probe: probe, question: question, heldIDs: ids, wantPayloads: options & 2 != 0)
    }
}
