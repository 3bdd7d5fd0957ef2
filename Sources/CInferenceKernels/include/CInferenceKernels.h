// Hot loops of the Llama forward pass, in C so that they are vectorised with AVX2/FMA where the
// CPU has them (chosen at run time) and stay portable elsewhere.
//
// Block layouts are ggml's: Q4_1 = {f16 d, f16 m, 16 bytes of nibbles (byte j: value j low,
// value j+16 high)}, 20 bytes per 32 values; Q8_0 = {f16 d, 32 int8}, 34 bytes per 32 values.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// y[r] (+)= row r · x for `rows` consecutive Q4_1 rows of `blocks` blocks each (row stride
/// 20·blocks bytes). `block_sums[b]` = Σ x[32b ..< 32b+32]. Accumulates into y when `accumulate`.
void aqk_matvec_q4_1(const void *rows, int row_count, int blocks, const float *x, const float *block_sums,
                     float *y, int accumulate);

/// y[r] (+)= row r · x for `rows` consecutive Q8_0 rows of `blocks` blocks each.
void aqk_matvec_q8_0(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate);

/// Dequantises `blocks` consecutive Q4_1 blocks (32 values each) to out[0 ..< 32·blocks]:
/// value = d·nibble + m, exactly as the Float32 loader does.
void aqk_dequantize_q4_1(const void *rows, long blocks, float *out);

/// Dequantises `blocks` consecutive Q8_0 blocks to out[0 ..< 32·blocks]: value = d·q.
void aqk_dequantize_q8_0(const void *rows, long blocks, float *out);

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

/// 1 when the AVX2/FMA code paths are in use, 0 for the portable ones.
int aqk_uses_avx2(void);

/// 1 when the AVX-512 matrix-vector kernels are in use.
int aqk_uses_avx512(void);

/// Forces the portable (0), AVX2 (1) or best available (2) kernels; for tests and benchmarks.
void aqk_set_kernel_level(int level);

#ifdef __cplusplus
}
#endif
