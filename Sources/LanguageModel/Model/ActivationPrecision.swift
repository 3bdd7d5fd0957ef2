/// How activations enter the products with block-quantised weights (``QuantizedFormat``) of a forward
/// pass. Products with Float32 weights, attention and the norms always use Float32.
///
/// The weights are the same either way; the choice changes the arithmetic, so a model run in one
/// mode computes slightly different K/V than in the other (``ModelFingerprint`` tells them apart).
public enum ActivationPrecision: String, Sendable, CaseIterable, Codable {
    /// llama.cpp's CPU arithmetic, the default: each 32-value block of an activation row is
    /// rounded to 8 bits (scale max|x|/127 rounded to Float16, codes rounded half to even)
    /// before the product with Q4_1, Q8_0, Q5_0 or Q5_1 weights; for Q4_K and Q6_K weights each
    /// 256-value super-block (Float32 scale −max/127 of the signed maximum, llama.cpp's Q8_K).
    /// Single vectors (decoding) and batches (prefill) are multiplied with integer dot products per
    /// block (batches on repacked weight panels, bit-identical on every CPU). Agrees with
    /// llama.cpp's logits for the same model to well under its distance from the exact product.
    case int8 = "q8"
    /// Float32 activations: the exact product with the stored weights (the reference that tests
    /// compare against a Float64 implementation).
    case float32 = "f32"
}
