/// The element type of stored K/V values; both are 2 bytes, little-endian.
public enum ElementType: UInt8, Sendable {
    /// IEEE 754 half precision.
    case fp16 = 1
    /// bfloat16 (the upper half of a Float32).
    case bf16 = 2
}
