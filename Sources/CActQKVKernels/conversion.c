// Bulk conversion between Float32 and the 16-bit element types of stored K/V (fp16, bf16).
// Every level gives bit-identical results (the conversions are exact or correctly rounded).
#include "internal.h"

#if AQS_X86
AQS_AVX2 static void widen_f16_avx2(const uint16_t *src, float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = chf_f16_to_f32(src[i]);
}

AQS_AVX512 static void widen_f16_avx512(const uint16_t *src, float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    for (; i < n; i++) dst[i] = chf_f16_to_f32(src[i]);
}

AQS_AVX2 static void widen_bf16_avx2(const uint16_t *src, float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i))), 16);
        _mm256_storeu_si256((__m256i *)(dst + i), w);
    }
    for (; i < n; i++) dst[i] = chf_bf16_to_f32(src[i]);
}

AQS_AVX512 static void widen_bf16_avx512(const uint16_t *src, float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i))), 16);
        _mm512_storeu_si512((void *)(dst + i), w);
    }
    for (; i < n; i++) dst[i] = chf_bf16_to_f32(src[i]);
}

AQS_AVX2 static void narrow_f16_avx2(const float *src, uint16_t *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = chf_f32_to_f16(src[i]);
}

AQS_AVX512 static void narrow_f16_avx512(const float *src, uint16_t *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_si256((__m256i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = chf_f32_to_f16(src[i]);
}

/// Eight Float32 bit patterns → bf16 in the low halves of 32-bit lanes (nearest-even, NaN quiet).
AQS_AVX2 static inline __m256i bf16_lanes_avx2(__m256i x) {
    __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7FFF)), odd), 16);
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

AQS_AVX2 static void narrow_bf16_avx2(const float *src, uint16_t *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = bf16_lanes_avx2(_mm256_loadu_si256((const __m256i *)(src + i)));
        __m256i b = bf16_lanes_avx2(_mm256_loadu_si256((const __m256i *)(src + i + 8)));
        // packus works per 128-bit lane: a0 b0 a1 b1 → reorder the 64-bit quarters to a0 a1 b0 b1.
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + i), packed);
    }
    for (; i < n; i++) dst[i] = chf_f32_to_bf16(src[i]);
}
#endif

void aqs_widen_f16(int level, const uint16_t *src, float *dst, ptrdiff_t n) {
    int l = aqs_effective_level(level);
#if AQS_X86
    if (l == 2) { widen_f16_avx512(src, dst, n); return; }
    if (l == 1) { widen_f16_avx2(src, dst, n); return; }
#else
    (void)l;
#endif
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = chf_f16_to_f32(src[i]);
}

void aqs_widen_bf16(int level, const uint16_t *src, float *dst, ptrdiff_t n) {
    int l = aqs_effective_level(level);
#if AQS_X86
    if (l == 2) { widen_bf16_avx512(src, dst, n); return; }
    if (l == 1) { widen_bf16_avx2(src, dst, n); return; }
#else
    (void)l;
#endif
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = chf_bf16_to_f32(src[i]);
}

void aqs_narrow_f16(int level, const float *src, uint16_t *dst, ptrdiff_t n) {
    int l = aqs_effective_level(level);
#if AQS_X86
    if (l == 2) { narrow_f16_avx512(src, dst, n); return; }
    if (l == 1) { narrow_f16_avx2(src, dst, n); return; }
#else
    (void)l;
#endif
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = chf_f32_to_f16(src[i]);
}

void aqs_narrow_bf16(int level, const float *src, uint16_t *dst, ptrdiff_t n) {
    int l = aqs_effective_level(level);
#if AQS_X86
    if (l >= 1) { narrow_bf16_avx2(src, dst, n); return; }
#else
    (void)l;
#endif
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = chf_f32_to_bf16(src[i]);
}
