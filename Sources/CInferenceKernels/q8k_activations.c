// 8-bit activations for products with K-quant weights (Q4_K, Q6_K): llama.cpp's CPU arithmetic,
// written from the formats' definitions. Activations are rounded per 256-value super-block (its
// block_q8_K: a Float32 scale from the signed maximum, 256 codes, 16 sums of 16 codes); each
// product sums exact integers per super-block and combines them with the scales in Float32.
//
// Every level computes the same integers and then runs the same scalar Float32 code (sk_combine_*),
// so the portable, AVX2, AVX-512 and VNNI kernels return bit-identical results.
#include "internal.h"

#pragma STDC FP_CONTRACT OFF

// ---- Q8_K rounding ---------------------------------------------------------------------------

/// round(v) with ties to even for |v| < 2²², by adding and removing 1.5·2²³ (as llama.cpp's
/// nearest_int); NaN gives 0.
static inline int round_half_even(float v) {
    if (v != v) return 0;
    const float magic = 12582912.0f;
    volatile float t = v + magic;  // volatile: the sum must be rounded to Float32 before the subtraction
    return (int)(t - magic);
}

#if AQK_X86
/// One super-block with AVX-512: the same codes, sums and scale as the portable loop (vroundps
/// rounds ties to even like round_half_even; NaN values are skipped by the maximum and give 0).
AQK_TARGET512 static void quantize_superblock_avx512(const float *xb, AQKActivationBlockK *o) {
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < 16; i++) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb + 16 * i)), m);  // NaN → m
    const float amax = _mm512_reduce_max_ps(m);
    if (amax == 0) {
        o->d = 0;
        memset(o->q, 0, sizeof o->q);
        memset(o->bsums, 0, sizeof o->bsums);
        return;
    }
    float max = 0;
    const __m512 target = _mm512_set1_ps(amax);
    for (int i = 0; i < 16; i++) {
        const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(xb + 16 * i)), target, _CMP_EQ_OQ);
        if (hit) { max = xb[16 * i + __builtin_ctz(hit)]; break; }
    }
    const float iscale = -127.0f / max;
    const __m512 is = _mm512_set1_ps(iscale);
    for (int i = 0; i < 16; i++) {
        const __m512 v = _mm512_loadu_ps(xb + 16 * i);
        const __mmask16 ordered = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
        const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(is, v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m512i q = _mm512_maskz_cvtps_epi32(ordered, r);
        _mm_storeu_si128((__m128i *)(o->q + 16 * i), _mm512_cvtsepi32_epi8(q));  // saturates to −128…127
        o->bsums[i] = (int16_t)_mm512_reduce_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(127)),
                                                                          _mm512_set1_epi32(-128)));
    }
    o->d = 1.0f / iscale;
}
#endif

void aqk_quantize_activations_k(const float *x, int blocks, AQKActivationBlockK *out) {
#if AQK_X86
    if (aqk_uses_avx512()) {
        for (int b = 0; b < blocks; b++) quantize_superblock_avx512(x + 256 * b, out + b);
        return;
    }
#endif
    for (int b = 0; b < blocks; b++) {
        const float *xb = x + 256 * b;
        AQKActivationBlockK *o = out + b;
        float amax = 0, max = 0;
        for (int j = 0; j < 256; j++) {
            const float a = fabsf(xb[j]);
            if (a > amax) { amax = a; max = xb[j]; }
        }
        if (amax == 0) {
            o->d = 0;
            memset(o->q, 0, sizeof o->q);
            memset(o->bsums, 0, sizeof o->bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            const int v = round_half_even(iscale * xb[j]);
            o->q[j] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
        }
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += o->q[16 * k + j];
            o->bsums[k] = (int16_t)sum;
        }
        o->d = 1.0f / iscale;
    }
}

void aqk_round_activations_k(const float *x, int blocks, float *out) {
    AQKActivationBlockK blk;
    for (int b = 0; b < blocks; b++) {
        aqk_quantize_activations_k(x + 256 * b, 1, &blk);
        for (int j = 0; j < 256; j++) out[256 * b + j] = blk.d * (float)blk.q[j];
    }
}

// ---- the Float32 part, shared by every level ------------------------------------------------------

/// Q4_K super-block: d·d_x·Σ_j sc_j·dot_j − dmin·d_x·Σ_j m_j·(Σ q of sub-block j).
/// `d_w` and `dmin_w` are the block's Float16 scales widened (exactly, by any method).
static inline float sk_combine_q4_K(float d_w, float dmin_w, const AQKActivationBlockK *x, int sumi, int summ) {
    const float d = d_w * x->d, dmin = dmin_w * x->d;
    return d * (float)sumi - dmin * (float)summ;
}

/// Σ_j m_j · (Σ q over sub-block j) from the Q8_K 16-value sums.
static inline int q4_K_min_sum(const uint8_t mn[8], const AQKActivationBlockK *x) {
    int summ = 0;
    for (int j = 0; j < 8; j++) summ += mn[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
    return summ;
}

/// Q6_K super-block: d·d_x·Σ_k sc_k·Σ (code − 32)·q.
static inline float sk_combine_q6_K(float d_w, const AQKActivationBlockK *x, int sumi) {
    return d_w * x->d * (float)sumi;
}

/// Σ_k sc_k · (Σ q over the k-th 16 values): times 32, the part of Σ sc·Σ code·q that the −32
/// offset of the Q6_K codes removes.
static inline int q6_K_offset_sum(const int8_t *sc, const AQKActivationBlockK *x) {
    int sum = 0;
    for (int k = 0; k < 16; k++) sum += sc[k] * x->bsums[k];
    return sum;
}

// ---- portable ------------------------------------------------------------------------------------

static float dot_q4_K_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlockK *x) {
    float acc = 0;
    for (int i = 0; i < blocks; i++) {
        const uint8_t *blk = row + 144 * i, *qs = blk + 16;
        const int8_t *q = x[i].q;
        uint8_t sc[8], mn[8];
        aqk_q4_K_scales(blk + 4, sc, mn);
        int sumi = 0;
        for (int g = 0; g < 4; g++) {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += (qs[32 * g + l] & 0x0F) * q[64 * g + l];
                hi += (qs[32 * g + l] >> 4) * q[64 * g + 32 + l];
            }
            sumi += sc[2 * g] * lo + sc[2 * g + 1] * hi;
        }
        acc += sk_combine_q4_K(chf_f16_to_f32(load_u16(blk)), chf_f16_to_f32(load_u16(blk + 2)), x + i, sumi,
                               q4_K_min_sum(mn, x + i));
    }
    return acc;
}

static float dot_q6_K_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlockK *x) {
    float acc = 0;
    for (int i = 0; i < blocks; i++) {
        const uint8_t *blk = row + 210 * i;
        const int8_t *sc = (const int8_t *)(blk + 192);
        int sumi = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
            const int8_t *q = x[i].q + 128 * h;
            int part[8] = {0};
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                part[is] += ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) * q[l];
                part[is + 2] += ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) * q[l + 32];
                part[is + 4] += ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) * q[l + 64];
                part[is + 6] += ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) * q[l + 96];
            }
            for (int k = 0; k < 8; k++) sumi += sc[8 * h + k] * part[k];
        }
        acc += sk_combine_q6_K(chf_f16_to_f32(load_u16(blk + 208)), x + i, sumi - 32 * q6_K_offset_sum(sc, x + i));
    }
    return acc;
}

// ---- AVX2 --------------------------------------------------------------------------------------

#if AQK_X86
/// Σ_j m_j · (bsums[2j] + bsums[2j+1]) with vpmaddwd (the same integer as q4_K_min_sum).
AQK_TARGET static inline int q4_K_min_sum_avx2(const uint8_t mn[8], const AQKActivationBlockK *x) {
    const __m128i pairs = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)mn),
                                           _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    return hsum_i32_256(_mm256_madd_epi16(_mm256_cvtepu8_epi16(pairs), _mm256_loadu_si256((const __m256i *)x->bsums)));
}

/// 32 · Σ_k sc_k · bsums[k] as eight int32 lanes (their sum is 32 · q6_K_offset_sum).
AQK_TARGET static inline __m256i q6_K_offset_lanes(const int8_t *sc, const AQKActivationBlockK *x) {
    __m256i p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc)),
                                  _mm256_loadu_si256((const __m256i *)x->bsums));
    return _mm256_slli_epi32(p, 5);
}

AQK_TARGET static float dot_q4_K_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlockK *x) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    float acc = 0;
    for (int i = 0; i < blocks; i++) {
        const uint8_t *blk = row + 144 * i, *qs = blk + 16;
        const int8_t *q = x[i].q;
        uint8_t sc[8], mn[8];
        aqk_q4_K_scales(blk + 4, sc, mn);
        __m256i sums = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
            // Byte products summed in pairs (≤ 2·15·127), then × the sub-block scale in vpmaddwd.
            __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(v, low4), _mm256_loadu_si256((const __m256i *)(q + 64 * g)));
            __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                                              _mm256_loadu_si256((const __m256i *)(q + 64 * g + 32)));
            sums = _mm256_add_epi32(sums, _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_set1_epi16(sc[2 * g])),
                                                           _mm256_madd_epi16(hi, _mm256_set1_epi16(sc[2 * g + 1]))));
        }
        acc += sk_combine_q4_K(f16_avx(blk), f16_avx(blk + 2), x + i, hsum_i32_256(sums), q4_K_min_sum_avx2(mn, x + i));
    }
    return acc;
}

/// The 16 int16 scales [sc[i] ×8, sc[i+1] ×8] from a Q6_K block's 16 int8 scales.
AQK_TARGET static inline __m256i q6_K_scale_pair(__m128i scales, int i) {
    const __m128i pick = _mm_add_epi8(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), _mm_set1_epi8((char)i));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
}

AQK_TARGET static float dot_q6_K_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlockK *x) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    float acc = 0;
    for (int i = 0; i < blocks; i++) {
        const uint8_t *blk = row + 210 * i;
        const int8_t *sc = (const int8_t *)(blk + 192);
        const __m128i scales = _mm_loadu_si128((const __m128i *)sc);
        __m256i sums = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk + 64 * h, *qhp = blk + 128 + 32 * h;
            const int8_t *q = x[i].q + 128 * h;
            __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
            // Codes 0…63 of values l, l+32, l+64, l+96 (l < 32): a nibble and two bits of qh.
            __m256i c0 = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, two), 4));
            __m256i c1 = _mm256_or_si256(_mm256_and_si256(l1, low4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4));
            __m256i c2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4));
            __m256i c3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4));
            // Pair sums ≤ 2·63·127 fit int16; × the int8 scale of each 16 values in vpmaddwd.
            __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)q)), q6_K_scale_pair(scales, 8 * h));
            __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(q + 32))), q6_K_scale_pair(scales, 8 * h + 2));
            __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(q + 64))), q6_K_scale_pair(scales, 8 * h + 4));
            __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(q + 96))), q6_K_scale_pair(scales, 8 * h + 6));
            sums = _mm256_add_epi32(sums, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
        }
        acc += sk_combine_q6_K(f16_avx(blk + 208), x + i, hsum_i32_256(_mm256_sub_epi32(sums, q6_K_offset_lanes(sc, x + i))));
    }
    return acc;
}

// ---- AVX-512: 64 codes per vector; the scale multiply-add by vpdpwssd with VNNI ----------------------

/// int16 index vector for vpermw: lanes 16k ..< 16k+16 of the result pick lane `first` + k (k = 0, 1).
AQK_TARGET512 static inline __m512i halves_index(int first) {
    return _mm512_add_epi16(_mm512_mask_blend_epi16(0xFFFF0000u, _mm512_setzero_si512(), _mm512_set1_epi16(1)),
                            _mm512_set1_epi16((short)first));
}

/// int16 index vector: lanes 8k ..< 8k+8 pick lane `first` + k (k = 0…3).
AQK_TARGET512 static inline __m512i quarters_index(int first) {
    const __m256i base = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    return _mm512_add_epi16(_mm512_cvtepu8_epi16(base), _mm512_set1_epi16((short)first));
}

AQK_TARGET512 static inline __m512i madd_scaled_bw(__m512i sums, __m512i pairs, __m512i scales) {
    return _mm512_add_epi32(sums, _mm512_madd_epi16(pairs, scales));
}

AQK_TARGET_VNNI static inline __m512i madd_scaled_vnni(__m512i sums, __m512i pairs, __m512i scales) {
    return _mm512_dpwssd_epi32(sums, pairs, scales);
}

#define AQK_DEFINE_Q8K_DOTS_512(SUFFIX, TARGET, MADD_SCALED)                                                 \
    TARGET static float dot_q4_K_q8_##SUFFIX(const uint8_t *row, int blocks, const AQKActivationBlockK *x) { \
        const __m512i low4 = _mm512_set1_epi8(0x0F);                                                        \
        float acc = 0;                                                                                      \
        for (int i = 0; i < blocks; i++) {                                                                  \
            const uint8_t *blk = row + 144 * i, *qs = blk + 16;                                             \
            const int8_t *q = x[i].q;                                                                       \
            uint8_t sc[8], mn[8];                                                                           \
            aqk_q4_K_scales(blk + 4, sc, mn);                                                               \
            /* int16 lanes 0–7: the eight sub-block scales. */                                             \
            const __m512i scales = _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(_mm_loadl_epi64((const __m128i *)sc))); \
            __m512i sums = _mm512_setzero_si512();                                                          \
            for (int g = 0; g < 4; g++) {                                                                   \
                /* [32 bytes, the same 32 bytes >> 4]: sub-blocks 2g and 2g+1, values 64g ..< 64g+64. */   \
                __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * g)));      \
                v = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFFFF0000u, v, 4), low4);                    \
                __m512i pairs = _mm512_maddubs_epi16(v, _mm512_loadu_si512((const void *)(q + 64 * g)));     \
                sums = MADD_SCALED(sums, pairs, _mm512_permutexvar_epi16(halves_index(2 * g), scales));     \
            }                                                                                               \
            acc += sk_combine_q4_K(f16_avx(blk), f16_avx(blk + 2), x + i, _mm512_reduce_add_epi32(sums),   \
                                   q4_K_min_sum_avx2(mn, x + i));                                          \
        }                                                                                                   \
        return acc;                                                                                         \
    }                                                                                                       \
    TARGET static float dot_q6_K_q8_##SUFFIX(const uint8_t *row, int blocks, const AQKActivationBlockK *x) { \
        const __m512i low4 = _mm512_set1_epi8(0x0F), two = _mm512_set1_epi8(3);                             \
        float acc = 0;                                                                                      \
        for (int i = 0; i < blocks; i++) {                                                                  \
            const uint8_t *blk = row + 210 * i;                                                             \
            const int8_t *sc = (const int8_t *)(blk + 192);                                                 \
            const __m512i scales = _mm512_cvtepi8_epi16(_mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)sc))); \
            __m512i sums = _mm512_setzero_si512();                                                          \
            for (int h = 0; h < 2; h++) {                                                                   \
                const int8_t *q = x[i].q + 128 * h;                                                         \
                /* ql[0..<64]: values 0..<64 from its low nibbles, 64..<128 from its high nibbles. */       \
                __m512i l = _mm512_loadu_si512((const void *)(blk + 64 * h));                               \
                __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h))); \
                /* Bits 0–1 of qh for values 0..<32, bits 2–3 for 32..<64; then 4–5 and 6–7. */            \
                __m512i h01 = _mm512_mask_srli_epi16(qh, 0xFFFF0000u, qh, 2);                               \
                __m512i h23 = _mm512_srli_epi16(h01, 4);                                                    \
                __m512i c01 = _mm512_or_si512(_mm512_and_si512(l, low4), _mm512_slli_epi16(_mm512_and_si512(h01, two), 4)); \
                __m512i c23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),              \
                                              _mm512_slli_epi16(_mm512_and_si512(h23, two), 4));            \
                __m512i p01 = _mm512_maddubs_epi16(c01, _mm512_loadu_si512((const void *)q));               \
                __m512i p23 = _mm512_maddubs_epi16(c23, _mm512_loadu_si512((const void *)(q + 64)));        \
                sums = MADD_SCALED(sums, p01, _mm512_permutexvar_epi16(quarters_index(8 * h), scales));      \
                sums = MADD_SCALED(sums, p23, _mm512_permutexvar_epi16(quarters_index(8 * h + 4), scales));  \
            }                                                                                               \
            __m512i offset = _mm512_castsi256_si512(q6_K_offset_lanes(sc, x + i));                          \
            offset = _mm512_inserti64x4(offset, _mm256_setzero_si256(), 1);                                 \
            acc += sk_combine_q6_K(f16_avx(blk + 208), x + i, _mm512_reduce_add_epi32(_mm512_sub_epi32(sums, offset))); \
        }                                                                                                   \
        return acc;                                                                                         \
    }

AQK_DEFINE_Q8K_DOTS_512(avx512, AQK_TARGET512, madd_scaled_bw)
AQK_DEFINE_Q8K_DOTS_512(vnni, AQK_TARGET_VNNI, madd_scaled_vnni)
#endif

// ---- row loops -------------------------------------------------------------------------------

typedef float (*dot_q8k_fn)(const uint8_t *row, int blocks, const AQKActivationBlockK *x);

static void matvec_q8k(dot_q8k_fn dot, const void *rows, size_t row_bytes, int row_count, int blocks,
                       const AQKActivationBlockK *x, float *y, int accumulate) {
    const uint8_t *base = (const uint8_t *)rows;
    for (int r = 0; r < row_count; r++) {
        const float v = dot(base + (size_t)r * row_bytes, blocks, x);
        y[r] = accumulate ? y[r] + v : v;
    }
}

#if AQK_X86
#define AQK_PICK_Q8K_DOT(NAME)                                                                                \
    (aqk_uses_vnni() ? NAME##_vnni : aqk_uses_avx512() ? NAME##_avx512 : aqk_uses_avx2() ? NAME##_avx2 : NAME##_scalar)
#else
#define AQK_PICK_Q8K_DOT(NAME) NAME##_scalar
#endif

void aqk_matvec_q4_K_q8(const void *rows, int row_count, int blocks, const AQKActivationBlockK *x, float *y,
                        int accumulate) {
    matvec_q8k(AQK_PICK_Q8K_DOT(dot_q4_K_q8), rows, (size_t)144 * blocks, row_count, blocks, x, y, accumulate);
}

void aqk_matvec_q6_K_q8(const void *rows, int row_count, int blocks, const AQKActivationBlockK *x, float *y,
                        int accumulate) {
    matvec_q8k(AQK_PICK_Q8K_DOT(dot_q6_K_q8), rows, (size_t)210 * blocks, row_count, blocks, x, y, accumulate);
}
