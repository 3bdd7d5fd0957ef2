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
static inline uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/// The 6-bit scales and mins of a Q4_K super-block's eight sub-blocks from its 12 packed bytes:
/// sub-block j < 4: scale s[j] & 63, min s[j+4] & 63; j ≥ 4: scale (s[j+4] & 15) | (s[j−4] >> 6) << 4,
/// min (s[j+4] >> 4) | (s[j] >> 6) << 4.
static inline void aqk_q4_K_scales(const uint8_t *s, uint8_t scale[8], uint8_t min[8]) {
    for (int j = 0; j < 4; j++) {
        scale[j] = s[j] & 63;
        min[j] = s[j + 4] & 63;
        scale[j + 4] = (uint8_t)((s[j + 8] & 0x0F) | ((s[j] >> 6) << 4));
        min[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

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

AQK_TARGET static inline int hsum_i32_256(__m256i v) {
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(t);
}

// AVX-512 (F, BW, VL) and the same with VNNI (vpdpbusd, vpdpwssd).
#define AQK_TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define AQK_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#endif
