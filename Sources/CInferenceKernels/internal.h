// Helpers shared by the kernel files of CInferenceKernels (not part of the public header).
#pragma once
#include "CInferenceKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AQK_X86 1
#else
#define AQK_X86 0
#endif

// Scalar fp16 conversions: the shared CHalfFloat header (chf_f16_to_f32, chf_f32_to_f16).
#include <CHalfFloat.h>

static inline uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#if AQK_X86
#define AQK_TARGET __attribute__((target("avx2,fma,f16c")))

AQK_TARGET static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

AQK_TARGET static inline float f16_avx(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(p))));
}
#endif
