/// A block that has just left the local window for good: b consecutive tokens of one layer with
/// final local scores, ready to be appended to the daemon.
public struct ClosedBlock: Sendable, Hashable {
    /// 0-based index of the block in its layer, in closing order (the index `select` returns).
    public let index: Int
    /// Absolute position (tokens) of the block's first token.
    public let firstPosition: Int
    /// Representative key k̂ = concat_h mean of head h's r best-scored raw keys; D = H·d floats.
    public let key: [Float]
    /// Raw K/V, [kvHeads][b][headDim] each.
    public let kv: BlockKV
}
