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

/// IEEE half → single, exact for every half value (subnormals, infinities, NaN).
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal
            float f = (float)mant * (1.0f / 16777216.0f);  // mant · 2^-24
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

/// IEEE single → half, rounded to nearest, ties to even (what F16C's vcvtps2ph does with
/// rounding mode 0); overflow gives ±infinity, NaN stays NaN.
static inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7FFFFFFFu;
    if (a >= 0x7F800000u) return sign | 0x7C00 | (a > 0x7F800000u ? 0x200 : 0);
    if (a >= 0x477FF000u) return sign | 0x7C00;  // ≥ 65520 rounds to infinity
    if (a < 0x38800000u) {                         // below 2^-14: a half subnormal (or zero)
        float v;
        memcpy(&v, &a, 4);
        return sign | (uint16_t)nearbyintf(v * 16777216.0f);  // units of 2^-24; 1024 is the smallest normal
    }
    uint32_t h = ((a >> 23) - 112) << 10 | ((a & 0x7FFFFFu) >> 13);
    uint32_t rest = a & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return sign | (uint16_t)h;
}

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
