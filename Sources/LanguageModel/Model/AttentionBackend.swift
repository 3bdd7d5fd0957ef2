/// The attention step of a layer, the seam between the forward pass and the KV memory.
///
/// The forward pass computes queries, keys and values of a chunk of consecutive tokens WITHOUT
/// rotary embedding and hands them to the backend together with the chunk's absolute start
/// position; the backend applies RoPE where its method needs it (the dense cache rotates keys
/// once when storing them; the ActQKV method keeps raw keys and rotates at attention time),
/// stores what it keeps, and writes the attention output of every query.
///
/// Protocol of use: for a chunk of `n` tokens starting at ``position``, the model calls
/// ``attend(layer:queries:keys:values:tokenCount:output:)`` once per layer in increasing layer
/// order, then ``advance(by:)`` once. Backends are per sequence and not thread-safe.
public protocol AttentionBackend: AnyObject {
    /// Number of tokens of the sequence already processed (the next chunk starts here).
    var position: Int { get }

    /// Attention for one layer over a chunk of `tokenCount` tokens at positions
    /// `position ..< position + tokenCount`.
    /// - Parameters:
    ///   - queries: `tokenCount × (H·d)` floats, un-rotated, head-major inside each row.
    ///   - keys: `tokenCount × (H_kv·d)` floats, un-rotated.
    ///   - values: `tokenCount × (H_kv·d)` floats.
    ///   - output: `tokenCount × (H·d)` floats: softmax(q·kᵀ/√d)·v per query head, causal.
    func attend(
        layer: Int, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        tokenCount: Int, output: UnsafeMutablePointer<Float>
    ) throws(ModelError)

    /// Marks the chunk of `tokenCount` tokens as processed by every layer.
    func advance(by tokenCount: Int)
}
