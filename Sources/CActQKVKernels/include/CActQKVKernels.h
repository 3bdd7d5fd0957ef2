// Block-scoring and 16-bit conversion kernels of the ActQKV library, in C so that they run with
// AVX2 + FMA + F16C or AVX-512 where the CPU has them (chosen at run time, per call) and stay
// portable elsewhere. Pure computation: no I/O, no allocation, no global state except the cached
// CPU feature detection.
//
// Levels: 0 = portable C (any CPU), 1 = x86-64 AVX2 + FMA + F16C, 2 = x86-64 AVX-512 F/BW/VL (with
// level 1's features). Every entry point takes the requested level; a negative level or one above
// what the CPU supports runs the best supported level. All levels accumulate in Float32 and give
// the same results up to Float32 rounding of the summation order.
//
// Rows are row-major: key j occupies keys[j·width ..< (j+1)·width]. fp16 and bf16 values are raw
// 16-bit bit patterns (IEEE binary16 / bfloat16), widened exactly: every number, ±0 and ±∞ keep
// their value; NaN stays NaN (hardware conversion may set the quiet bit of a signalling NaN).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// The best kernel level this CPU supports (detected once, then cached): 0, 1 or 2.
int aqs_best_level(void);

/// The level a call with `requested` runs: `requested` if 0 ≤ requested ≤ best, else best.
int aqs_effective_level(int requested);

/// out[j] = ⟨k_j, p⟩·p̂·k̂ + λ·⟨k_j, u⟩·û·k̂ for j < count, with x̂ = 1 / max(‖x‖, 1e-12) (the
/// question term only when `question` is non-NULL; λ = `question_weight`). ‖p‖ and ‖u‖ are
/// computed once per call (in double), ‖k_j‖ in the same pass over the key as the dot products.
void aqs_cosines_f32(int level, const float *probe, const float *_Nullable question, float question_weight,
                     const float *keys, ptrdiff_t count, ptrdiff_t width, float *out);

/// As aqs_cosines_f32 with fp16 keys.
void aqs_cosines_f16(int level, const float *probe, const float *_Nullable question, float question_weight,
                     const uint16_t *keys, ptrdiff_t count, ptrdiff_t width, float *out);

/// out[j] = ⟨k_j, p⟩ for j < count (InfLLM scoring).
void aqs_inner_products_f32(int level, const float *probe, const float *keys, ptrdiff_t count, ptrdiff_t width,
                            float *out);

/// As aqs_inner_products_f32 with fp16 keys.
void aqs_inner_products_f16(int level, const float *probe, const uint16_t *keys, ptrdiff_t count, ptrdiff_t width,
                            float *out);

/// Σ x[i] for i < n, with enough independent accumulators to run at the memory bandwidth (the
/// bandwidth floor of the scoring benchmark).
float aqs_sum_f32(int level, const float *x, ptrdiff_t n);

/// dst[i] = fp16 src[i] widened to Float32 (exact for numbers and ±∞; NaN stays NaN), i < n.
void aqs_widen_f16(int level, const uint16_t *src, float *dst, ptrdiff_t n);

/// dst[i] = bf16 src[i] widened to Float32 (exact), i < n.
void aqs_widen_bf16(int level, const uint16_t *src, float *dst, ptrdiff_t n);

/// dst[i] = src[i] rounded to fp16, nearest-even; overflow gives ±∞; NaN gives a quiet NaN with
/// the top payload bits kept (sign | 0x7E00 | mantissa >> 13).
void aqs_narrow_f16(int level, const float *src, uint16_t *dst, ptrdiff_t n);

/// dst[i] = src[i] rounded to bf16, nearest-even; NaN gives a quiet NaN (upper half | 0x0040).
void aqs_narrow_bf16(int level, const float *src, uint16_t *dst, ptrdiff_t n);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif
