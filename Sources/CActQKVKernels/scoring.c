// Block scoring: cosines (with the optional question term) and inner products of N key rows
// against one probe, from Float32 or fp16 keys, plus the plain sum used as the bandwidth floor.
//
// Per row, one pass over the key computes every dot product it needs and ‖k‖², each with several
// independent Float32 accumulators (enough to hide the FMA latency); the probe and question norms
// are computed once per call in double. Row tails (width not a multiple of the vector width) are
// handled with masked loads (AVX-512, AVX2 for Float32) or a zero-padded copy (AVX2 fp16).
#include "internal.h"

static const float norm_epsilon = 1e-12f;

/// 1 / max(‖x‖, 1e-12), ‖x‖ accumulated in double.
static float inverse_norm(const float *x, ptrdiff_t n) {
    double s = 0;
    for (ptrdiff_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    double r = sqrt(s);
    return (float)(1.0 / (r > (double)norm_epsilon ? r : (double)norm_epsilon));
}

// ---- portable --------------------------------------------------------------------------------
// Four-lane GCC/Clang vector extensions: SSE2 on baseline x86-64, NEON on aarch64, so the fallback
// stays vectorised (two or four independent accumulators per quantity). fp16 is widened exactly
// with 32-bit lane integer arithmetic.

typedef float aqs_v4f __attribute__((vector_size(16)));
typedef uint32_t aqs_v4u __attribute__((vector_size(16)));
typedef uint16_t aqs_v4h __attribute__((vector_size(8)));

static inline aqs_v4f load4_f32(const float *p) {
    aqs_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/// Four fp16 values → Float32, exact for every pattern (as chf_f16_to_f32, without branches).
static inline aqs_v4f load4_f16(const uint16_t *p) {
    aqs_v4h h;
    memcpy(&h, p, sizeof h);
    aqs_v4u w = __builtin_convertvector(h, aqs_v4u);
    aqs_v4u sign = (w & 0x8000u) << 16, rest = w & 0x7FFFu;
    aqs_v4f scaled = (aqs_v4f)(rest << 13) * 0x1p112f;                 // normals and subnormals
    aqs_v4u inf_nan = (0u - ((rest + 0x400u) >> 15)) & 0x7F800000u;    // exponent all ones iff rest ≥ 0x7C00
    return (aqs_v4f)(((aqs_v4u)scaled) | inf_nan | sign);
}

static inline float hsum4(aqs_v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

#define AQS_CONV_F32(x) (x)
#define AQS_CONV_F16(x) chf_f16_to_f32(x)

#define AQS_PORTABLE_KERNELS(SUFFIX, T, LOAD4, CONV)                                                    \
    static float dot_portable_##SUFFIX(const T *k, const float *p, ptrdiff_t d) {                       \
        aqs_v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;                                           \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 16 <= d; i += 16) {                                                                  \
            a0 += LOAD4(k + i) * load4_f32(p + i);                                                      \
            a1 += LOAD4(k + i + 4) * load4_f32(p + i + 4);                                              \
            a2 += LOAD4(k + i + 8) * load4_f32(p + i + 8);                                              \
            a3 += LOAD4(k + i + 12) * load4_f32(p + i + 12);                                            \
        }                                                                                               \
        for (; i + 4 <= d; i += 4) a0 += LOAD4(k + i) * load4_f32(p + i);                               \
        float s = hsum4((a0 + a1) + (a2 + a3));                                                         \
        for (; i < d; i++) s += CONV(k[i]) * p[i];                                                      \
        return s;                                                                                       \
    }                                                                                                   \
    static void dn_portable_##SUFFIX(const T *k, const float *p, ptrdiff_t d, float *dot, float *nrm) { \
        aqs_v4f a0 = {0, 0, 0, 0}, a1 = a0, b0 = a0, b1 = a0;                                           \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 8 <= d; i += 8) {                                                                    \
            aqs_v4f k0 = LOAD4(k + i), k1 = LOAD4(k + i + 4);                                           \
            a0 += k0 * load4_f32(p + i);                                                                \
            a1 += k1 * load4_f32(p + i + 4);                                                            \
            b0 += k0 * k0;                                                                              \
            b1 += k1 * k1;                                                                              \
        }                                                                                               \
        float s = hsum4(a0 + a1), t = hsum4(b0 + b1);                                                   \
        for (; i < d; i++) {                                                                            \
            float kv = CONV(k[i]);                                                                      \
            s += kv * p[i];                                                                             \
            t += kv * kv;                                                                               \
        }                                                                                               \
        *dot = s;                                                                                       \
        *nrm = t;                                                                                       \
    }                                                                                                   \
    static void dun_portable_##SUFFIX(const T *k, const float *p, const float *u, ptrdiff_t d,         \
                                      float *dot, float *dotu, float *nrm) {                            \
        aqs_v4f a0 = {0, 0, 0, 0}, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;                         \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 8 <= d; i += 8) {                                                                    \
            aqs_v4f k0 = LOAD4(k + i), k1 = LOAD4(k + i + 4);                                           \
            a0 += k0 * load4_f32(p + i);                                                                \
            a1 += k1 * load4_f32(p + i + 4);                                                            \
            b0 += k0 * load4_f32(u + i);                                                                \
            b1 += k1 * load4_f32(u + i + 4);                                                            \
            c0 += k0 * k0;                                                                              \
            c1 += k1 * k1;                                                                              \
        }                                                                                               \
        float s = hsum4(a0 + a1), e = hsum4(b0 + b1), t = hsum4(c0 + c1);                               \
        for (; i < d; i++) {                                                                            \
            float kv = CONV(k[i]);                                                                      \
            s += kv * p[i];                                                                             \
            e += kv * u[i];                                                                             \
            t += kv * kv;                                                                               \
        }                                                                                               \
        *dot = s;                                                                                       \
        *dotu = e;                                                                                      \
        *nrm = t;                                                                                       \
    }

AQS_PORTABLE_KERNELS(f32, float, load4_f32, AQS_CONV_F32)
AQS_PORTABLE_KERNELS(f16, uint16_t, load4_f16, AQS_CONV_F16)

static float sum_portable(const float *x, ptrdiff_t n) {
    aqs_v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 += load4_f32(x + i);
        a1 += load4_f32(x + i + 4);
        a2 += load4_f32(x + i + 8);
        a3 += load4_f32(x + i + 12);
    }
    float s = hsum4((a0 + a1) + (a2 + a3));
    for (; i < n; i++) s += x[i];
    return s;
}

#if AQS_X86
// ---- AVX2 + FMA + F16C -----------------------------------------------------------------------

static const int32_t mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Lane mask selecting the first r (< 8) lanes.
AQS_AVX2 static inline __m256i tail_mask_avx2(ptrdiff_t r) {
    return _mm256_loadu_si256((const __m256i *)(mask_source + 8 - r));
}

AQS_AVX2 static inline float hsum_avx2(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// Software prefetch of the key bytes `AQS_PREFETCH_BYTES` ahead of the `bytes` just read at `ptr`
/// (rows are contiguous, so this runs into the next row; prefetches never fault). Measured: the
/// hardware prefetcher alone leaves L3-resident Float32 scans at ≈ 0.6 of the sum's bandwidth.
#define AQS_PREFETCH_BYTES 2048
#define AQS_PREFETCH(ptr, bytes)                                                                        \
    for (int aqs_q = 0; aqs_q < (int)(bytes); aqs_q += 64)                                             \
    _mm_prefetch((const char *)(ptr) + AQS_PREFETCH_BYTES + aqs_q, _MM_HINT_T0)

#define AQS_LOAD8_F32(ptr) _mm256_loadu_ps(ptr)
#define AQS_LOAD8_F16(ptr) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(ptr)))

AQS_AVX2 static inline __m256 tail8_f32(const float *k, ptrdiff_t r) { return _mm256_maskload_ps(k, tail_mask_avx2(r)); }

AQS_AVX2 static inline __m256 tail8_f16(const uint16_t *k, ptrdiff_t r) {
    uint16_t buf[8] = {0};
    memcpy(buf, k, (size_t)r * 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)buf));
}

#define AQS_FMA8(a, b, c) _mm256_fmadd_ps(a, b, c)
#define AQS_P8(i) _mm256_loadu_ps(p + (i))
#define AQS_U8(i) _mm256_loadu_ps(u + (i))

#define AQS_AVX2_KERNELS(SUFFIX, T, LOAD8, TAIL8)                                                       \
    AQS_AVX2 static float dot_avx2_##SUFFIX(const T *k, const float *p, ptrdiff_t d) {                  \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                     \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 32 <= d; i += 32) {                                                                  \
            AQS_PREFETCH(k + i, 32 * sizeof(T));                                                        \
            a0 = AQS_FMA8(LOAD8(k + i), AQS_P8(i), a0);                                                 \
            a1 = AQS_FMA8(LOAD8(k + i + 8), AQS_P8(i + 8), a1);                                         \
            a2 = AQS_FMA8(LOAD8(k + i + 16), AQS_P8(i + 16), a2);                                       \
            a3 = AQS_FMA8(LOAD8(k + i + 24), AQS_P8(i + 24), a3);                                       \
        }                                                                                               \
        for (; i + 8 <= d; i += 8) a0 = AQS_FMA8(LOAD8(k + i), AQS_P8(i), a0);                          \
        if (i < d) a1 = AQS_FMA8(TAIL8(k + i, d - i), _mm256_maskload_ps(p + i, tail_mask_avx2(d - i)), a1); \
        return hsum_avx2(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));                  \
    }                                                                                                   \
    AQS_AVX2 static void dn_avx2_##SUFFIX(const T *k, const float *p, ptrdiff_t d, float *dot, float *nrm) { \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;  \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 32 <= d; i += 32) {                                                                  \
            AQS_PREFETCH(k + i, 32 * sizeof(T));                                                        \
            __m256 k0 = LOAD8(k + i), k1 = LOAD8(k + i + 8), k2 = LOAD8(k + i + 16), k3 = LOAD8(k + i + 24); \
            a0 = AQS_FMA8(k0, AQS_P8(i), a0);                                                           \
            a1 = AQS_FMA8(k1, AQS_P8(i + 8), a1);                                                       \
            a2 = AQS_FMA8(k2, AQS_P8(i + 16), a2);                                                      \
            a3 = AQS_FMA8(k3, AQS_P8(i + 24), a3);                                                      \
            b0 = AQS_FMA8(k0, k0, b0);                                                                  \
            b1 = AQS_FMA8(k1, k1, b1);                                                                  \
            b2 = AQS_FMA8(k2, k2, b2);                                                                  \
            b3 = AQS_FMA8(k3, k3, b3);                                                                  \
        }                                                                                               \
        for (; i + 8 <= d; i += 8) {                                                                    \
            __m256 k0 = LOAD8(k + i);                                                                   \
            a0 = AQS_FMA8(k0, AQS_P8(i), a0);                                                           \
            b0 = AQS_FMA8(k0, k0, b0);                                                                  \
        }                                                                                               \
        if (i < d) {                                                                                    \
            __m256 k0 = TAIL8(k + i, d - i);                                                            \
            a1 = AQS_FMA8(k0, _mm256_maskload_ps(p + i, tail_mask_avx2(d - i)), a1);                    \
            b1 = AQS_FMA8(k0, k0, b1);                                                                  \
        }                                                                                               \
        *dot = hsum_avx2(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));                  \
        *nrm = hsum_avx2(_mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3)));                  \
    }                                                                                                   \
    AQS_AVX2 static void dun_avx2_##SUFFIX(const T *k, const float *p, const float *u, ptrdiff_t d,    \
                                           float *dot, float *dotu, float *nrm) {                       \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;                   \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 16 <= d; i += 16) {                                                                  \
            AQS_PREFETCH(k + i, 16 * sizeof(T));                                                        \
            __m256 k0 = LOAD8(k + i), k1 = LOAD8(k + i + 8);                                            \
            a0 = AQS_FMA8(k0, AQS_P8(i), a0);                                                           \
            a1 = AQS_FMA8(k1, AQS_P8(i + 8), a1);                                                       \
            b0 = AQS_FMA8(k0, AQS_U8(i), b0);                                                           \
            b1 = AQS_FMA8(k1, AQS_U8(i + 8), b1);                                                       \
            c0 = AQS_FMA8(k0, k0, c0);                                                                  \
            c1 = AQS_FMA8(k1, k1, c1);                                                                  \
        }                                                                                               \
        for (; i + 8 <= d; i += 8) {                                                                    \
            __m256 k0 = LOAD8(k + i);                                                                   \
            a0 = AQS_FMA8(k0, AQS_P8(i), a0);                                                           \
            b0 = AQS_FMA8(k0, AQS_U8(i), b0);                                                           \
            c0 = AQS_FMA8(k0, k0, c0);                                                                  \
        }                                                                                               \
        if (i < d) {                                                                                    \
            __m256i m = tail_mask_avx2(d - i);                                                          \
            __m256 k0 = TAIL8(k + i, d - i);                                                            \
            a1 = AQS_FMA8(k0, _mm256_maskload_ps(p + i, m), a1);                                        \
            b1 = AQS_FMA8(k0, _mm256_maskload_ps(u + i, m), b1);                                        \
            c1 = AQS_FMA8(k0, k0, c1);                                                                  \
        }                                                                                               \
        *dot = hsum_avx2(_mm256_add_ps(a0, a1));                                                        \
        *dotu = hsum_avx2(_mm256_add_ps(b0, b1));                                                       \
        *nrm = hsum_avx2(_mm256_add_ps(c0, c1));                                                        \
    }

AQS_AVX2_KERNELS(f32, float, AQS_LOAD8_F32, tail8_f32)
AQS_AVX2_KERNELS(f16, uint16_t, AQS_LOAD8_F16, tail8_f16)

AQS_AVX2 static float sum_avx2(const float *x, ptrdiff_t n) {
    __m256 a[8];
    for (int l = 0; l < 8; l++) a[l] = _mm256_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int l = 0; l < 8; l++) a[l] = _mm256_add_ps(a[l], _mm256_loadu_ps(x + i + 8 * l));
    for (; i + 8 <= n; i += 8) a[0] = _mm256_add_ps(a[0], _mm256_loadu_ps(x + i));
    if (i < n) a[1] = _mm256_add_ps(a[1], _mm256_maskload_ps(x + i, tail_mask_avx2(n - i)));
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])),
                             _mm256_add_ps(_mm256_add_ps(a[4], a[5]), _mm256_add_ps(a[6], a[7])));
    return hsum_avx2(s);
}

// ---- AVX-512 ---------------------------------------------------------------------------------

#define AQS_LOAD16_F32(ptr) _mm512_loadu_ps(ptr)
#define AQS_LOAD16_F16(ptr) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ptr)))
#define AQS_TAIL16_F32(ptr, m) _mm512_maskz_loadu_ps(m, ptr)
#define AQS_TAIL16_F16(ptr, m) _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, ptr))
#define AQS_FMA16(a, b, c) _mm512_fmadd_ps(a, b, c)
#define AQS_P16(i) _mm512_loadu_ps(p + (i))
#define AQS_U16(i) _mm512_loadu_ps(u + (i))
#define AQS_MASK16(r) ((__mmask16)((1u << (r)) - 1u))

#define AQS_AVX512_KERNELS(SUFFIX, T, LOAD16, TAIL16)                                                   \
    AQS_AVX512 static float dot_avx512_##SUFFIX(const T *k, const float *p, ptrdiff_t d) {              \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                     \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 64 <= d; i += 64) {                                                                  \
            AQS_PREFETCH(k + i, 64 * sizeof(T));                                                        \
            a0 = AQS_FMA16(LOAD16(k + i), AQS_P16(i), a0);                                              \
            a1 = AQS_FMA16(LOAD16(k + i + 16), AQS_P16(i + 16), a1);                                    \
            a2 = AQS_FMA16(LOAD16(k + i + 32), AQS_P16(i + 32), a2);                                    \
            a3 = AQS_FMA16(LOAD16(k + i + 48), AQS_P16(i + 48), a3);                                    \
        }                                                                                               \
        for (; i + 16 <= d; i += 16) a0 = AQS_FMA16(LOAD16(k + i), AQS_P16(i), a0);                     \
        if (i < d) {                                                                                    \
            __mmask16 m = AQS_MASK16(d - i);                                                            \
            a1 = AQS_FMA16(TAIL16(k + i, m), _mm512_maskz_loadu_ps(m, p + i), a1);                      \
        }                                                                                               \
        return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));      \
    }                                                                                                   \
    AQS_AVX512 static void dn_avx512_##SUFFIX(const T *k, const float *p, ptrdiff_t d, float *dot, float *nrm) { \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;  \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 64 <= d; i += 64) {                                                                  \
            AQS_PREFETCH(k + i, 64 * sizeof(T));                                                        \
            __m512 k0 = LOAD16(k + i), k1 = LOAD16(k + i + 16), k2 = LOAD16(k + i + 32), k3 = LOAD16(k + i + 48); \
            a0 = AQS_FMA16(k0, AQS_P16(i), a0);                                                         \
            a1 = AQS_FMA16(k1, AQS_P16(i + 16), a1);                                                    \
            a2 = AQS_FMA16(k2, AQS_P16(i + 32), a2);                                                    \
            a3 = AQS_FMA16(k3, AQS_P16(i + 48), a3);                                                    \
            b0 = AQS_FMA16(k0, k0, b0);                                                                 \
            b1 = AQS_FMA16(k1, k1, b1);                                                                 \
            b2 = AQS_FMA16(k2, k2, b2);                                                                 \
            b3 = AQS_FMA16(k3, k3, b3);                                                                 \
        }                                                                                               \
        for (; i + 16 <= d; i += 16) {                                                                  \
            __m512 k0 = LOAD16(k + i);                                                                  \
            a0 = AQS_FMA16(k0, AQS_P16(i), a0);                                                         \
            b0 = AQS_FMA16(k0, k0, b0);                                                                 \
        }                                                                                               \
        if (i < d) {                                                                                    \
            __mmask16 m = AQS_MASK16(d - i);                                                            \
            __m512 k0 = TAIL16(k + i, m);                                                               \
            a1 = AQS_FMA16(k0, _mm512_maskz_loadu_ps(m, p + i), a1);                                    \
            b1 = AQS_FMA16(k0, k0, b1);                                                                 \
        }                                                                                               \
        *dot = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));      \
        *nrm = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)));      \
    }                                                                                                   \
    AQS_AVX512 static void dun_avx512_##SUFFIX(const T *k, const float *p, const float *u, ptrdiff_t d, \
                                               float *dot, float *dotu, float *nrm) {                   \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;                   \
        ptrdiff_t i = 0;                                                                                \
        for (; i + 32 <= d; i += 32) {                                                                  \
            AQS_PREFETCH(k + i, 32 * sizeof(T));                                                        \
            __m512 k0 = LOAD16(k + i), k1 = LOAD16(k + i + 16);                                         \
            a0 = AQS_FMA16(k0, AQS_P16(i), a0);                                                         \
            a1 = AQS_FMA16(k1, AQS_P16(i + 16), a1);                                                    \
            b0 = AQS_FMA16(k0, AQS_U16(i), b0);                                                         \
            b1 = AQS_FMA16(k1, AQS_U16(i + 16), b1);                                                    \
            c0 = AQS_FMA16(k0, k0, c0);                                                                 \
            c1 = AQS_FMA16(k1, k1, c1);                                                                 \
        }                                                                                               \
        for (; i + 16 <= d; i += 16) {                                                                  \
            __m512 k0 = LOAD16(k + i);                                                                  \
            a0 = AQS_FMA16(k0, AQS_P16(i), a0);                                                         \
            b0 = AQS_FMA16(k0, AQS_U16(i), b0);                                                         \
            c0 = AQS_FMA16(k0, k0, c0);                                                                 \
        }                                                                                               \
        if (i < d) {                                                                                    \
            __mmask16 m = AQS_MASK16(d - i);                                                            \
            __m512 k0 = TAIL16(k + i, m);                                                               \
            a1 = AQS_FMA16(k0, _mm512_maskz_loadu_ps(m, p + i), a1);                                    \
            b1 = AQS_FMA16(k0, _mm512_maskz_loadu_ps(m, u + i), b1);                                    \
            c1 = AQS_FMA16(k0, k0, c1);                                                                 \
        }                                                                                               \
        *dot = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));                                             \
        *dotu = _mm512_reduce_add_ps(_mm512_add_ps(b0, b1));                                            \
        *nrm = _mm512_reduce_add_ps(_mm512_add_ps(c0, c1));                                             \
    }

AQS_AVX512_KERNELS(f32, float, AQS_LOAD16_F32, AQS_TAIL16_F32)
AQS_AVX512_KERNELS(f16, uint16_t, AQS_LOAD16_F16, AQS_TAIL16_F16)

AQS_AVX512 static float sum_avx512(const float *x, ptrdiff_t n) {
    __m512 a[8];
    for (int l = 0; l < 8; l++) a[l] = _mm512_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 128 <= n; i += 128)
        for (int l = 0; l < 8; l++) a[l] = _mm512_add_ps(a[l], _mm512_loadu_ps(x + i + 16 * l));
    for (; i + 16 <= n; i += 16) a[0] = _mm512_add_ps(a[0], _mm512_loadu_ps(x + i));
    if (i < n) a[1] = _mm512_add_ps(a[1], _mm512_maskz_loadu_ps(AQS_MASK16(n - i), x + i));
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])),
                             _mm512_add_ps(_mm512_add_ps(a[4], a[5]), _mm512_add_ps(a[6], a[7])));
    return _mm512_reduce_add_ps(s);
}
#endif

// ---- drivers ---------------------------------------------------------------------------------

#if AQS_X86
#define AQS_PICK(level, name, SUFFIX) \
    ((level) == 2 ? name##_avx512_##SUFFIX : (level) == 1 ? name##_avx2_##SUFFIX : name##_portable_##SUFFIX)
#else
#define AQS_PICK(level, name, SUFFIX) ((void)(level), name##_portable_##SUFFIX)
#endif

#define AQS_DRIVERS(SUFFIX, T)                                                                          \
    void aqs_cosines_##SUFFIX(int level, const float *probe, const float *question, float question_weight, \
                              const T *keys, ptrdiff_t count, ptrdiff_t width, float *out) {            \
        int l = aqs_effective_level(level);                                                             \
        float p_inv = inverse_norm(probe, width);                                                       \
        if (question) {                                                                                 \
            float u_scale = question_weight * inverse_norm(question, width);                            \
            void (*row)(const T *, const float *, const float *, ptrdiff_t, float *, float *, float *) = \
                AQS_PICK(l, dun, SUFFIX);                                                               \
            for (ptrdiff_t j = 0; j < count; j++) {                                                     \
                float d, e, n;                                                                          \
                row(keys + j * width, probe, question, width, &d, &e, &n);                              \
                float k_inv = 1.0f / fmaxf(sqrtf(n), norm_epsilon);                                     \
                out[j] = d * k_inv * p_inv + e * k_inv * u_scale;                                       \
            }                                                                                           \
        } else {                                                                                        \
            void (*row)(const T *, const float *, ptrdiff_t, float *, float *) = AQS_PICK(l, dn, SUFFIX); \
            for (ptrdiff_t j = 0; j < count; j++) {                                                     \
                float d, n;                                                                             \
                row(keys + j * width, probe, width, &d, &n);                                            \
                out[j] = d / fmaxf(sqrtf(n), norm_epsilon) * p_inv;                                     \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    void aqs_inner_products_##SUFFIX(int level, const float *probe, const T *keys, ptrdiff_t count,     \
                                     ptrdiff_t width, float *out) {                                     \
        int l = aqs_effective_level(level);                                                             \
        float (*row)(const T *, const float *, ptrdiff_t) = AQS_PICK(l, dot, SUFFIX);                   \
        for (ptrdiff_t j = 0; j < count; j++) out[j] = row(keys + j * width, probe, width);             \
    }

AQS_DRIVERS(f32, float)
AQS_DRIVERS(f16, uint16_t)

float aqs_sum_f32(int level, const float *x, ptrdiff_t n) {
    int l = aqs_effective_level(level);
#if AQS_X86
    if (l == 2) return sum_avx512(x, n);
    if (l == 1) return sum_avx2(x, n);
#else
    (void)l;
#endif
    return sum_portable(x, n);
}
