// Hot loops of the Llama forward pass, in C so that they are vectorised with AVX2/FMA where the
// CPU has them (chosen at run time) and stay portable elsewhere.
//
// Block layouts are ggml's: Q4_1 = {f16 d, f16 m, 16 bytes of nibbles (byte j: value j low,
// value j+16 high)}, 20 bytes per 32 values; Q8_0 = {f16 d, 32 int8}, 34 bytes per 32 values;
// Q5_0 = {f16 d, u32 qh (bit j: fifth bit of value j), 16 bytes of nibbles as Q4_1}, 22 bytes,
// value d·(code − 16); Q5_1 = {f16 d, f16 m, u32 qh, 16 bytes of nibbles}, 24 bytes, value
// d·code + m. K-quants hold 256 values per super-block: Q4_K = {f16 d, f16 dmin, 12 bytes of
// 6-bit scales and mins, 128 bytes of nibbles}, 144 bytes; Q6_K = {128 bytes low nibbles, 64 bytes
// high 2-bit pairs, 16 int8 scales, f16 d}, 210 bytes (the full layouts are written out beside the
// Swift dequantisers, Sources/LanguageModel/GGUF/Dequantize+Q5.swift and Dequantize+KQuants.swift).
//
// Kernel levels: portable (0), AVX2 (1), best (2: AVX-512 F/BW/VL where the CPU has them, with
// VNNI where it has avx512_vnni). Integer sums are exact at every level; the Float32 sums over
// blocks may differ in order between levels (so in the last bits) except for the K-quant × Q8_K
// products, whose Float32 arithmetic is the same scalar code at every level (bit-identical).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// y[r] (+)= row r · x for `rows` consecutive Q4_1 rows of `blocks` blocks each (row stride
/// 20·blocks bytes). `block_sums[b]` = Σ x[32b ..< 32b+32]. Accumulates into y when `accumulate`.
void aqk_matvec_q4_1(const void *rows, int row_count, int blocks, const float *x, const float *block_sums,
                     float *y, int accumulate);

/// y[r] (+)= row r · x for `rows` consecutive Q8_0 rows of `blocks` blocks each.
void aqk_matvec_q8_0(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);

/// One 32-value block of an activation row rounded to 8 bits, as llama.cpp's CPU backend rounds
/// activations before a product with Q4_1 (its Q8_1 block) or Q8_0 weights: value j ≈ d · q[j].
typedef struct {
    /// Scale max|x|/127, rounded to Float16 (kept widened to Float32).
    float d;
    /// (max|x|/127) · Σ q, rounded to Float16: the term a Q4_1 minimum multiplies.
    float s;
    /// Codes round(x · 127/max|x|), ties to even, in −127…127.
    int8_t q[32];
} AQKActivationBlock;

/// Rounds `blocks` blocks of 32 activations x[0 ..< 32·blocks] to 8 bits (see AQKActivationBlock).
void aqk_quantize_activations(const float *x, int blocks, AQKActivationBlock *out);

/// The activations as the 8-bit products see them: out[i] = d · q[i] of x's block (out may equal x).
void aqk_round_activations(const float *x, int blocks, float *out);

/// y[r] (+)= Σ_blocks (d_w·d_x·Σ code·q + m_w·s_x) for `row_count` Q4_1 rows against quantised
/// activations `x` (`blocks` blocks): llama.cpp's Q4_1 × Q8_1 product.
void aqk_matvec_q4_1_q8(const void *rows, int row_count, int blocks, const AQKActivationBlock *x, float *y,
                        int accumulate);

/// y[r] (+)= Σ_blocks d_w·d_x·Σ code·q for `row_count` Q8_0 rows: llama.cpp's Q8_0 × Q8_0 product.
void aqk_matvec_q8_0_q8(const void *rows, int row_count, int blocks, const AQKActivationBlock *x, float *y,
                        int accumulate);

/// y[r] (+)= Σ_blocks d_w·d_x·Σ (code − 16)·q for Q5_0 rows: llama.cpp's Q5_0 × Q8_0 product.
void aqk_matvec_q5_0_q8(const void *rows, int row_count, int blocks, const AQKActivationBlock *x, float *y,
                        int accumulate);

/// y[r] (+)= Σ_blocks (d_w·d_x·Σ code·q + m_w·s_x) for Q5_1 rows: llama.cpp's Q5_1 × Q8_1 product.
void aqk_matvec_q5_1_q8(const void *rows, int row_count, int blocks, const AQKActivationBlock *x, float *y,
                        int accumulate);

/// One 256-value super-block of an activation row rounded to 8 bits as llama.cpp rounds activations
/// for K-quant weights (its block_q8_K): value j ≈ d · q[j].
typedef struct {
    /// Scale 1/(−127/max) where max is the first value of largest magnitude (signed), Float32
    /// (not rounded to Float16); 0 for an all-zero block.
    float d;
    /// Codes min(127, round(x · (−127/max))), ties to even; the value `max` itself gets −127.
    int8_t q[256];
    /// Σ q over each run of 16 codes.
    int16_t bsums[16];
} AQKActivationBlockK;

/// Rounds `blocks` super-blocks of 256 activations x[0 ..< 256·blocks] (see AQKActivationBlockK).
void aqk_quantize_activations_k(const float *x, int blocks, AQKActivationBlockK *out);

/// The activations as the K-quant products see them: out[i] = d · q[i] of x's super-block (out may
/// equal x).
void aqk_round_activations_k(const float *x, int blocks, float *out);

// ---- batched 8-bit products (gemm_q8.c; AVX-512 VNNI only) ----------------------------------------

/// Makes glibc serve allocations below 256 MB from its heap and keep up to 512 MB of freed heap
/// (process-wide; no-op elsewhere). The forward pass allocates activation arrays of several MB
/// per layer; by default glibc maps each afresh and unmaps it on free, so every layer paid page
/// faults and kernel zeroing again (≈ 8 % of a 512-token Gemma 3 prefill).
void aqk_keep_large_allocations(void);

/// The block formats of the batched 8-bit products.
typedef enum {
    AQK_FORMAT_Q4_1 = 0,
    AQK_FORMAT_Q8_0 = 1,
    AQK_FORMAT_Q5_0 = 2,
    AQK_FORMAT_Q5_1 = 3,
    AQK_FORMAT_Q4_K = 4,
    AQK_FORMAT_Q6_K = 5,
} AQKBlockFormat;

/// Activation rows rounded to 8 bits for aqk_gemm_q8: the codes q as unsigned bytes q + 128 (k per
/// row) and, per 16- and 32-value group of each row, its scale d; per 32 also d·Σq as a Float32
/// product (Q4_K minimum terms) and llama.cpp's Float16-rounded Q8_1 sum `s` (Q4_1/Q5_1 minimum
/// terms). Views of one buffer of aqk_prepared_activations_bytes(rows, k) bytes
/// (aqk_prepared_activations_at).
typedef struct {
    uint8_t *codes;
    float *scale16;
    float *scale32;
    float *scaled_sum32;
    float *rounded_sum32;
} AQKPreparedActivations;

/// Bytes of a buffer holding `rows` prepared activation rows of `k` values (k a multiple of 32).
size_t aqk_prepared_activations_bytes(int rows, int k);

/// The view of row `first` onwards of a buffer of aqk_prepared_activations_bytes(rows, k) bytes
/// at `buffer` (64-byte aligned).
AQKPreparedActivations aqk_prepared_activations_at(void *buffer, int rows, int k, int first);

/// Rounds `tokens` rows of x (row stride `stride` floats, `k` values, k a multiple of 32, or of 256
/// when `per_256`) as the single-vector products do: per 32-value block (Q8_0/Q8_1) or, when
/// `per_256`, per 256-value super-block (Q8_K); writes rows 0 ..< tokens of `out`. `x` null:
/// writes zeros instead (the padding rows of a tile).
void aqk_prepare_activations(const float *x, long stride, int tokens, int k, int per_256, AQKPreparedActivations out);

/// Values per weight group of `format` in the batched product: 16 for Q6_K, else 32.
int aqk_gemm_group(AQKBlockFormat format);

/// Bytes of scratch aqk_gemm_q8 needs for rows of `k` values of `format`.
size_t aqk_gemm_scratch_bytes(AQKBlockFormat format, int k);

/// y[t·ldy + r] (+)= row r · x̃_t for the `row_count` rows of `format` at `rows` (row stride: whole
/// blocks of k values) and the `tokens` prepared activation rows x̃ (rows up to the next multiple
/// of 8 readable, zeros past `tokens`). Per 32 (Q6_K: 16) values: d_w·d_x·Σ u·q + m_w·d_x·Σq with
/// exact integer sums — the single-vector 8-bit product's value up to Float32 summation order, and
/// bit-identical at every kernel level (VNNI, AVX2, portable). `scratch` holds
/// aqk_gemm_scratch_bytes(format, k) bytes.
void aqk_gemm_q8(AQKBlockFormat format, const void *rows, int row_count, int k, AQKPreparedActivations x, int tokens,
                 float *y, long ldy, int accumulate, void *scratch);

/// y[r] (+)= Σ_super-blocks (d·d_x·Σ_j sc_j·Σ code·q − dmin·d_x·Σ_j m_j·Σ q) for Q4_K rows of
/// `blocks` super-blocks: llama.cpp's Q4_K × Q8_K product.
void aqk_matvec_q4_K_q8(const void *rows, int row_count, int blocks, const AQKActivationBlockK *x, float *y,
                        int accumulate);

/// y[r] (+)= Σ_super-blocks d·d_x·Σ_k sc_k·Σ (code − 32)·q for Q6_K rows: llama.cpp's Q6_K × Q8_K.
void aqk_matvec_q6_K_q8(const void *rows, int row_count, int blocks, const AQKActivationBlockK *x, float *y,
                        int accumulate);

/// y[r] (+)= row r · x for Float32 activations: `blocks` 32-value blocks (Q5_0, Q5_1) or 256-value
/// super-blocks (Q4_K, Q6_K) per row. Each row is dequantised 256 values at a time (the values of
/// aqk_dequantize_*) and dotted with x.
void aqk_matvec_q5_0(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);
void aqk_matvec_q5_1(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);
void aqk_matvec_q4_K(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);
void aqk_matvec_q6_K(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);

/// IEEE single → half (round to nearest even) and back, as the kernels round scales (for tests).
float aqk_round_to_half(float x);

/// Dequantises `blocks` consecutive Q4_1 blocks (32 values each) to out[0 ..< 32·blocks]:
/// value = d·nibble + m, exactly as the Float32 loader does.
void aqk_dequantize_q4_1(const void *rows, long blocks, float *out);

/// Dequantises `blocks` consecutive Q8_0 blocks to out[0 ..< 32·blocks]: value = d·q.
void aqk_dequantize_q8_0(const void *rows, long blocks, float *out);

/// Dequantises `blocks` consecutive Q5_0 / Q5_1 blocks (32 values) or Q4_K / Q6_K super-blocks
/// (256 values) to out: bit-identical to GGUFDequantizer (the same Float32 operations, unfused).
void aqk_dequantize_q5_0(const void *rows, long blocks, float *out);
void aqk_dequantize_q5_1(const void *rows, long blocks, float *out);
void aqk_dequantize_q4_K(const void *rows, long blocks, float *out);
void aqk_dequantize_q6_K(const void *rows, long blocks, float *out);

/// Replaces x[0..<n] by softmax(x) (max-subtracted); returns Σ exp(x − max). n > 0.
float aqk_softmax(float *x, int n);

/// out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^−g).
void aqk_swiglu(const float *gate, const float *up, float *out, int n);

/// Attention of one query over `count` keys and values (rows of `dim` floats, row stride `dim`):
/// scores[j] = scale · q·k_j, p = softmax(scores), out = Σ_j p_j v_j. `scores` is scratch of
/// `count` floats (left holding p). count > 0.
void aqk_attend_one(const float *q, const float *keys, const float *values, int count, int dim, float scale,
                    float *scores, float *out);

/// e^x elementwise (for tests): out[i] = exp(x[i]), relative error ≤ 2e-7 on [−87, 88].
void aqk_exp(const float *x, float *out, int n);

/// 1 when the AVX2/FMA code paths are in use on the calling thread, 0 for the portable ones.
int aqk_uses_avx2(void);

/// 1 when the AVX-512 matrix-vector kernels are in use on the calling thread.
int aqk_uses_avx512(void);

/// Caps the kernels the calling thread uses: portable (0), AVX2 (1) or best available (2, the
/// default); for tests and benchmarks. Per thread, so that a test comparing levels never changes
/// the rounding of work on other threads; `ComputeThreads.run` gives its parallel parts the level
/// of the thread that started them.
void aqk_set_kernel_level(int level);

/// The calling thread's kernel level cap (0, 1 or 2).
int aqk_kernel_level(void);

/// 1 when the 8-bit products on the calling thread use AVX-512 VNNI (vpdpbusd/vpdpwssd): level 2,
/// a CPU with avx512_vnni, and not switched off with aqk_set_vnni(0).
int aqk_uses_vnni(void);

/// Allows (1, the default) or forbids (0) VNNI on the calling thread, so that tests and benchmarks
/// reach the AVX-512BW paths on a VNNI machine. Per thread, like the level, and carried into
/// `ComputeThreads.run`'s parts.
void aqk_set_vnni(int allowed);

/// The calling thread's VNNI switch (aqk_set_vnni).
int aqk_vnni_allowed(void);

#ifdef __cplusplus
}
#endif
