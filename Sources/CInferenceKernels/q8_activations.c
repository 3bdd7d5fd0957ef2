// 8-bit activations for products with block-quantised weights: the arithmetic of llama.cpp's CPU
// backend (activations quantised per 32-value block, integer dot products per block), written
// from the block formats' definitions.
#include "internal.h"

// ---- quantisation of an activation row ------------------------------------------------------

static inline void quantize_block(const float *x, AQKActivationBlock *out) {
    float amax = 0;
    for (int j = 0; j < 32; j++) {
        float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    const float d = amax / 127.0f;
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        const float v = x[j] * id;
        // Round half to even (as vroundps with mode 0); |v| ≤ 127 by construction, NaN → 0.
        const int q = v >= 127.0f ? 127 : v <= -127.0f ? -127 : v == v ? (int)nearbyintf(v) : 0;
        out->q[j] = (int8_t)q;
        sum += q;
    }
    out->d = chf_f16_to_f32(chf_f32_to_f16(d));
    out->s = chf_f16_to_f32(chf_f32_to_f16(d * (float)sum));
}

#if AQK_X86
// The same block rounding with AVX2: identical results (vroundps with mode 0 rounds half to even).
AQK_TARGET static void quantize_block_avx2(const float *x, AQKActivationBlock *out) {
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float amax = _mm_cvtss_f32(h);
    const float d = amax / 127.0f;
    const __m256 id = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0.0f);
#define AQK_ROUND_EVEN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), AQK_ROUND_EVEN));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), AQK_ROUND_EVEN));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), AQK_ROUND_EVEN));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), AQK_ROUND_EVEN));
    __m256i total = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
    const int sum = _mm_cvtsi128_si32(t);
    // Packing works per 128-bit lane; the permutation puts the 4-byte groups back in order.
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)out->q, bytes);
    out->d = chf_f16_to_f32(chf_f32_to_f16(d));
    out->s = chf_f16_to_f32(chf_f32_to_f16(d * (float)sum));
}
#endif

void aqk_quantize_activations(const float *x, int blocks, AQKActivationBlock *out) {
#if AQK_X86
    if (aqk_uses_avx2()) {
        for (int b = 0; b < blocks; b++) quantize_block_avx2(x + 32 * b, out + b);
        return;
    }
#endif
    for (int b = 0; b < blocks; b++) quantize_block(x + 32 * b, out + b);
}

void aqk_round_activations(const float *x, int blocks, float *out) {
    AQKActivationBlock blk;
    for (int b = 0; b < blocks; b++) {
        aqk_quantize_activations(x + 32 * b, 1, &blk);
        for (int j = 0; j < 32; j++) out[32 * b + j] = blk.d * (float)blk.q[j];
    }
}

// ---- portable dot products -------------------------------------------------------------------

static float dot_q4_1_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    float acc = 0, mins = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 20 * b;
        const int8_t *q = x[b].q;
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += (blk[4 + j] & 0x0F) * q[j] + (blk[4 + j] >> 4) * q[j + 16];
        acc += chf_f16_to_f32(load_u16(blk)) * x[b].d * (float)sum;
        mins += chf_f16_to_f32(load_u16(blk + 2)) * x[b].s;
    }
    return acc + mins;
}

static float dot_q8_0_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    float acc = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 34 * b;
        const int8_t *w = (const int8_t *)(blk + 2), *q = x[b].q;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += w[j] * q[j];
        acc += chf_f16_to_f32(load_u16(blk)) * x[b].d * (float)sum;
    }
    return acc;
}

/// Σ code·q over one Q5 block (codes 0…31 from 16 nibble bytes and the 32 fifth bits `qh`).
static inline int q5_code_dot(const uint8_t *qs, uint32_t qh, const int8_t *q) {
    int sum = 0;
    for (int j = 0; j < 16; j++) {
        sum += ((qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4)) * q[j];
        sum += ((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) * q[j + 16];
    }
    return sum;
}

static float dot_q5_0_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    float acc = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 22 * b;
        int qsum = 0;
        for (int j = 0; j < 32; j++) qsum += x[b].q[j];
        const int sum = q5_code_dot(blk + 6, load_u32(blk + 2), x[b].q) - 16 * qsum;
        acc += chf_f16_to_f32(load_u16(blk)) * x[b].d * (float)sum;
    }
    return acc;
}

static float dot_q5_1_q8_scalar(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    float acc = 0, mins = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 24 * b;
        const int sum = q5_code_dot(blk + 8, load_u32(blk + 4), x[b].q);
        acc += chf_f16_to_f32(load_u16(blk)) * x[b].d * (float)sum;
        mins += chf_f16_to_f32(load_u16(blk + 2)) * x[b].s;
    }
    return acc + mins;
}

// ---- AVX2: 32 byte products per block with vpmaddubsw ------------------------------------------

#if AQK_X86
AQK_TARGET static inline __m256i sum_pairs_i32(__m256i unsigned_bytes, __m256i signed_bytes) {
    // u8 × s8 products summed in pairs to int16 (|sum| ≤ 2·255·127, no saturation for our
    // operands: ≤ 2·15·127 for nibbles, ≤ 2·127·127 for |q8|), then in pairs again to int32.
    return _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_bytes, signed_bytes), _mm256_set1_epi16(1));
}

AQK_TARGET static float dot_q4_1_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float mins = 0;
    const __m128i low4 = _mm_set1_epi8(0x0F);
    int b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const uint8_t *w0 = row + 20 * b, *w1 = w0 + 20;
        __m128i v0 = _mm_loadu_si128((const __m128i *)(w0 + 4)), v1 = _mm_loadu_si128((const __m128i *)(w1 + 4));
        __m256i n0 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v0, low4)),
                                             _mm_and_si128(_mm_srli_epi16(v0, 4), low4), 1);
        __m256i n1 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v1, low4)),
                                             _mm_and_si128(_mm_srli_epi16(v1, 4), low4), 1);
        __m256i s0 = sum_pairs_i32(n0, _mm256_loadu_si256((const __m256i *)x[b].q));
        __m256i s1 = sum_pairs_i32(n1, _mm256_loadu_si256((const __m256i *)x[b + 1].q));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w0) * x[b].d), _mm256_cvtepi32_ps(s0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w1) * x[b + 1].d), _mm256_cvtepi32_ps(s1), acc1);
        mins += f16_avx(w0 + 2) * x[b].s + f16_avx(w1 + 2) * x[b + 1].s;
    }
    for (; b < blocks; b++) {
        const uint8_t *w = row + 20 * b;
        __m128i v = _mm_loadu_si128((const __m128i *)(w + 4));
        __m256i n = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, low4)),
                                            _mm_and_si128(_mm_srli_epi16(v, 4), low4), 1);
        __m256i s = sum_pairs_i32(n, _mm256_loadu_si256((const __m256i *)x[b].q));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w) * x[b].d), _mm256_cvtepi32_ps(s), acc0);
        mins += f16_avx(w + 2) * x[b].s;
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) + mins;
}

/// Byte i (0…31): 0x10 when bit i of `qh` is set, else 0 (the fifth bit of a Q5 code, in place).
AQK_TARGET static inline __m256i q5_fifth_bits(uint32_t qh) {
    // Byte i takes byte i/8 of qh (vpshufb indexes within each 128-bit lane; both lanes hold qh),
    // then keeps only its bit i%8.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, bit), _mm256_set1_epi8(0x10));
}

/// The 32 codes (0…31) of a Q5 block in value order.
AQK_TARGET static inline __m256i q5_codes_avx2(const uint8_t *qs, uint32_t qh) {
    const __m128i low4 = _mm_set1_epi8(0x0F);
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m256i n = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, low4)),
                                        _mm_and_si128(_mm_srli_epi16(v, 4), low4), 1);
    return _mm256_or_si256(n, q5_fifth_bits(qh));
}

AQK_TARGET static float dot_q5_0_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i sixteen = _mm256_set1_epi8(16);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *w = row + 22 * b;
        // code − 16 in −16…15, multiplied as |w| × (q with w's sign).
        __m256i c = _mm256_sub_epi8(q5_codes_avx2(w + 6, load_u32(w + 2)), sixteen);
        __m256i s = sum_pairs_i32(_mm256_sign_epi8(c, c), _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x[b].q), c));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w) * x[b].d), _mm256_cvtepi32_ps(s), acc);
    }
    return hsum256(acc);
}

AQK_TARGET static float dot_q5_1_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *w = row + 24 * b;
        __m256i s = sum_pairs_i32(q5_codes_avx2(w + 8, load_u32(w + 4)), _mm256_loadu_si256((const __m256i *)x[b].q));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w) * x[b].d), _mm256_cvtepi32_ps(s), acc);
        mins += f16_avx(w + 2) * x[b].s;
    }
    return hsum256(acc) + mins;
}

AQK_TARGET static float dot_q8_0_q8_avx2(const uint8_t *row, int blocks, const AQKActivationBlock *x) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int b = 0;
    // Signed × signed through vpmaddubsw: |w| × (q with w's sign).
    for (; b + 2 <= blocks; b += 2) {
        const uint8_t *w0 = row + 34 * b, *w1 = w0 + 34;
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(w0 + 2)), q1 = _mm256_loadu_si256((const __m256i *)(w1 + 2));
        __m256i a0 = _mm256_loadu_si256((const __m256i *)x[b].q), a1 = _mm256_loadu_si256((const __m256i *)x[b + 1].q);
        __m256i s0 = sum_pairs_i32(_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(a0, q0));
        __m256i s1 = sum_pairs_i32(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(a1, q1));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w0) * x[b].d), _mm256_cvtepi32_ps(s0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w1) * x[b + 1].d), _mm256_cvtepi32_ps(s1), acc1);
    }
    for (; b < blocks; b++) {
        const uint8_t *w = row + 34 * b;
        __m256i q = _mm256_loadu_si256((const __m256i *)(w + 2));
        __m256i s = sum_pairs_i32(_mm256_sign_epi8(q, q), _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x[b].q), q));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(w) * x[b].d), _mm256_cvtepi32_ps(s), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}
#endif

// ---- AVX-512: two blocks per 512-bit vector; vpdpbusd with VNNI -----------------------------------
//
// Lanes 0–7 of the int32 sums belong to the first block, 8–15 to the second; an odd last block is
// paired with itself and its copy weighted 0. The byte products are summed by vpmaddubsw +
// vpmaddwd (AVX512BW) or by vpdpbusd (VNNI): the same exact integers either way.

#if AQK_X86
/// Values 0…15 of two Q4/Q5 blocks' nibbles in value order: [low(q0), high(q0), low(q1), high(q1)].
AQK_TARGET512 static inline __m512i nibble_pair_512(const uint8_t *q0, const uint8_t *q1) {
    __m256i both = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)q1), _mm_loadu_si128((const __m128i *)q0));
    __m512i v = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(both));
    v = _mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4);
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

/// The 32 activation codes of blocks a and b side by side.
AQK_TARGET512 static inline __m512i codes_pair_512(const int8_t *a, const int8_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

AQK_TARGET512 static inline __m512i dot_u8_bw(__m512i u, __m512i s) {
    return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
}

AQK_TARGET_VNNI static inline __m512i dot_u8_vnni(__m512i u, __m512i s) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
}

/// Signed w × signed q as |w| × (q with w's sign); q is never −128 (activation codes are ±127).
AQK_TARGET512 static inline __m512i dot_s8_bw(__m512i w, __m512i q) {
    __m512i signed_q = _mm512_mask_sub_epi8(q, _mm512_movepi8_mask(w), _mm512_setzero_si512(), q);
    return dot_u8_bw(_mm512_abs_epi8(w), signed_q);
}

AQK_TARGET_VNNI static inline __m512i dot_s8_vnni(__m512i w, __m512i q) {
    __m512i signed_q = _mm512_mask_sub_epi8(q, _mm512_movepi8_mask(w), _mm512_setzero_si512(), q);
    return dot_u8_vnni(_mm512_abs_epi8(w), signed_q);
}

/// The 64 codes (0…31) of two Q5 blocks: nibbles plus 16 where the block's qh bit is set.
AQK_TARGET512 static inline __m512i q5_codes_pair_512(const uint8_t *qs0, const uint8_t *qh0, const uint8_t *qs1,
                                                     const uint8_t *qh1) {
    const __mmask64 fifth = (__mmask64)load_u32(qh0) | ((__mmask64)load_u32(qh1) << 32);
    __m512i n = nibble_pair_512(qs0, qs1);
    return _mm512_mask_add_epi8(n, fifth, n, _mm512_set1_epi8(16));
}

/// The activation scales of each block pair p (blocks 2p and 2p+1) as the AVX-512 products take
/// them: out[4p ..< 4p+4] = [d_x, s_x] of block 2p, then of block 2p+1 — zeros when `blocks` is odd
/// and 2p+1 is past the end, so that the duplicated weights standing in for it count 0.
static void activation_pair_scales(const AQKActivationBlock *x, int blocks, float *out) {
    for (int b = 0; b < blocks; b += 2) {
        const int has_next = b + 1 < blocks;
        out[2 * b] = x[b].d;
        out[2 * b + 1] = x[b].s;
        out[2 * b + 2] = has_next ? x[b + 1].d : 0.0f;
        out[2 * b + 3] = has_next ? x[b + 1].s : 0.0f;
    }
}

/// [d_w·d_x, m_w·s_x] of two weight blocks times their pair's activation scales `xs`
/// (activation_pair_scales), from the blocks' 32-bit headers h0, h1: f16 d in the low half, f16 m
/// (Q4_1, Q5_1) or 0 (Q8_0, Q5_0) in the high half. One vcvtph2ps and one vmulps; each product is
/// rounded as the scalar f16_to_f32(d)·d_x.
AQK_TARGET512 static inline __m128 pair_scales_512(uint32_t h0, uint32_t h1, const float *xs) {
    const __m128i h = _mm_cvtsi64_si128((long long)((uint64_t)h0 | (uint64_t)h1 << 32));
    return _mm_mul_ps(_mm_cvtph_ps(h), _mm_loadu_ps(xs));
}

/// The weights of a block pair's 16 int32 sums: the first block's d_w·d_x (lane 0 of pair_scales_512)
/// in lanes 0–7, the second's (lane 2) in lanes 8–15.
AQK_TARGET512 static inline __m512 spread_pair_scale_512(__m128 scales) {
    const __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(scales));
}

/// y = v, or y += v when `accumulate`.
static inline void store_row(float *y, float v, int accumulate) { *y = accumulate ? *y + v : v; }

// Per format: the 32-bit block header (d, and m or 0), whether the minimum term enters, and the
// int32 sums Σ code·q of a weight block pair (w0, w1) against activation codes q (lanes 0–7 the
// first block, 8–15 the second) with the instruction set's byte dots DOT_U8 / DOT_S8.
#define AQK_HEADER_DM(w) load_u32(w)
#define AQK_HEADER_D(w) ((uint32_t)load_u16(w))
#define AQK_PAIR_Q4_1(w0, w1, q, DOT_U8, DOT_S8) DOT_U8(nibble_pair_512((w0) + 4, (w1) + 4), q)
#define AQK_PAIR_Q8_0(w0, w1, q, DOT_U8, DOT_S8)                                                          \
    DOT_S8(codes_pair_512((const int8_t *)(w0) + 2, (const int8_t *)(w1) + 2), q)
#define AQK_PAIR_Q5_0(w0, w1, q, DOT_U8, DOT_S8)                                                          \
    DOT_S8(_mm512_sub_epi8(q5_codes_pair_512((w0) + 6, (w0) + 2, (w1) + 6, (w1) + 2), _mm512_set1_epi8(16)), q)
#define AQK_PAIR_Q5_1(w0, w1, q, DOT_U8, DOT_S8) DOT_U8(q5_codes_pair_512((w0) + 8, (w0) + 4, (w1) + 8, (w1) + 4), q)

/// Rows handled together by the AVX-512 kernels: they share the activation loads, and their
/// accumulators are independent chains.
#define AQK_ROWS_AT_ONCE 4

/// How many groups of AQK_ROWS_AT_ONCE rows ahead the AVX-512 kernels prefetch their weights.
#define AQK_PREFETCH_GROUPS 4

/// Asks for the cache lines of p[0 ..< bytes] in L1 (a hint: addresses past the rows are harmless).
static inline void prefetch_bytes(const uint8_t *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + i, 0, 3);
}

// The AVX-512 matrix–vector product of one 32-value format (FMT) for one instruction set (SUFFIX):
// FMT##_rows_##SUFFIX computes out[r] = row r · x for `count` ≤ AQK_ROWS_AT_ONCE rows (a constant
// where it is inlined) — per block pair, the integer sums scaled per lane by d_w·d_x and added to one
// accumulator per row, the minimum terms m_w·s_x gathered in another; matvec_##FMT##_q8_##SUFFIX
// runs it over all rows.
#define AQK_DEFINE_Q8_MATVEC_512(FMT, SUFFIX, TARGET, BLOCK_BYTES, HEADER, PAIR, HAS_MIN, DOT_U8, DOT_S8)    \
    TARGET static inline __attribute__((always_inline)) void FMT##_rows_##SUFFIX(                            \
        const uint8_t *row, size_t row_bytes, int count, int blocks, const AQKActivationBlock *x,            \
        const float *xs, float *out) {                                                                       \
        __m512 acc[AQK_ROWS_AT_ONCE];                                                                        \
        __m128 mins[AQK_ROWS_AT_ONCE];                                                                       \
        for (int r = 0; r < count; r++) acc[r] = _mm512_setzero_ps(), mins[r] = _mm_setzero_ps();            \
        for (int b = 0; b < blocks; b += 2) {                                                                \
            const int c = b + 1 < blocks ? b + 1 : b;                                                        \
            const __m512i q = codes_pair_512(x[b].q, x[c].q);                                                \
            /* The group AQK_PREFETCH_GROUPS on is contiguous: a share of it per block pair. */          \
            prefetch_bytes(row + (AQK_PREFETCH_GROUPS * count) * row_bytes + 2 * BLOCK_BYTES * count * (b / 2),  \
                           2 * BLOCK_BYTES * count);                                                         \
            for (int r = 0; r < count; r++) {                                                                \
                const uint8_t *w0 = row + r * row_bytes + BLOCK_BYTES * b, *w1 = w0 + BLOCK_BYTES * (c - b);  \
                const __m512i s = PAIR(w0, w1, q, DOT_U8, DOT_S8);                                           \
                const __m128 sc = pair_scales_512(HEADER(w0), HEADER(w1), xs + 2 * b);                       \
                acc[r] = _mm512_fmadd_ps(spread_pair_scale_512(sc), _mm512_cvtepi32_ps(s), acc[r]);          \
                if (HAS_MIN) mins[r] = _mm_add_ps(mins[r], sc);                                              \
            }                                                                                                \
        }                                                                                                    \
        for (int r = 0; r < count; r++) {                                                                    \
            float v = _mm512_reduce_add_ps(acc[r]);                                                          \
            if (HAS_MIN) v += mins[r][1] + mins[r][3];                                                       \
            out[r] = v;                                                                                      \
        }                                                                                                    \
    }                                                                                                        \
    TARGET static void matvec_##FMT##_q8_##SUFFIX(const uint8_t *rows, size_t row_bytes, int row_count,     \
                                                  int blocks, const AQKActivationBlock *x, float *y,         \
                                                  int accumulate) {                                          \
        float xs[2 * blocks + 2]; /* activation_pair_scales: 4 floats per block pair */                      \
        activation_pair_scales(x, blocks, xs);                                                               \
        float v[AQK_ROWS_AT_ONCE];                                                                           \
        int r = 0;                                                                                           \
        for (; r + AQK_ROWS_AT_ONCE <= row_count; r += AQK_ROWS_AT_ONCE) {                                   \
            FMT##_rows_##SUFFIX(rows + r * row_bytes, row_bytes, AQK_ROWS_AT_ONCE, blocks, x, xs, v);        \
            for (int i = 0; i < AQK_ROWS_AT_ONCE; i++) store_row(y + r + i, v[i], accumulate);               \
        }                                                                                                    \
        for (; r < row_count; r++) {                                                                         \
            FMT##_rows_##SUFFIX(rows + r * row_bytes, row_bytes, 1, blocks, x, xs, v);                       \
            store_row(y + r, v[0], accumulate);                                                              \
        }                                                                                                    \
    }

// The four formats' products per instruction set (SUFFIX), with its byte-dot helpers.
#define AQK_DEFINE_Q8_MATVECS_512(SUFFIX, TARGET, DOT_U8, DOT_S8)                                            \
    AQK_DEFINE_Q8_MATVEC_512(q4_1, SUFFIX, TARGET, 20, AQK_HEADER_DM, AQK_PAIR_Q4_1, 1, DOT_U8, DOT_S8)       \
    AQK_DEFINE_Q8_MATVEC_512(q8_0, SUFFIX, TARGET, 34, AQK_HEADER_D, AQK_PAIR_Q8_0, 0, DOT_U8, DOT_S8)        \
    AQK_DEFINE_Q8_MATVEC_512(q5_0, SUFFIX, TARGET, 22, AQK_HEADER_D, AQK_PAIR_Q5_0, 0, DOT_U8, DOT_S8)        \
    AQK_DEFINE_Q8_MATVEC_512(q5_1, SUFFIX, TARGET, 24, AQK_HEADER_DM, AQK_PAIR_Q5_1, 1, DOT_U8, DOT_S8)

AQK_DEFINE_Q8_MATVECS_512(avx512, AQK_TARGET512, dot_u8_bw, dot_s8_bw)
AQK_DEFINE_Q8_MATVECS_512(vnni, AQK_TARGET_VNNI, dot_u8_vnni, dot_s8_vnni)
#endif

// ---- row loops -------------------------------------------------------------------------------

typedef float (*dot_q8_fn)(const uint8_t *row, int blocks, const AQKActivationBlock *x);

/// y[r] (+)= dot(row r, x) one row at a time (the AVX2 and portable levels).
static void matvec_q8(dot_q8_fn dot, const uint8_t *rows, size_t row_bytes, int row_count, int blocks,
                      const AQKActivationBlock *x, float *y, int accumulate) {
    for (int r = 0; r < row_count; r++) store_row(y + r, dot(rows + (size_t)r * row_bytes, blocks, x), accumulate);
}

// aqk_matvec_FMT_q8 with the calling thread's level: the AVX-512 kernels with VNNI or BW, else the
// AVX2 or portable products row by row.
#if AQK_X86
#define AQK_MATVEC_Q8_512(FMT, ...)                                                                           \
    if (aqk_uses_vnni()) { matvec_##FMT##_q8_vnni(__VA_ARGS__); return; }                                   \
    if (aqk_uses_avx512()) { matvec_##FMT##_q8_avx512(__VA_ARGS__); return; }
#define AQK_PICK_Q8_DOT(NAME) (aqk_uses_avx2() ? NAME##_avx2 : NAME##_scalar)
#else
#define AQK_MATVEC_Q8_512(FMT, ...)
#define AQK_PICK_Q8_DOT(NAME) NAME##_scalar
#endif
#define AQK_DEFINE_Q8_MATVEC(FMT, BLOCK_BYTES)                                                                \
    void aqk_matvec_##FMT##_q8(const void *rows, int row_count, int blocks, const AQKActivationBlock *x,     \
                               float *y, int accumulate) {                                                   \
        const uint8_t *w = (const uint8_t *)rows;                                                            \
        const size_t row_bytes = (size_t)(BLOCK_BYTES) * blocks;                                             \
        AQK_MATVEC_Q8_512(FMT, w, row_bytes, row_count, blocks, x, y, accumulate)                            \
        matvec_q8(AQK_PICK_Q8_DOT(dot_##FMT##_q8), w, row_bytes, row_count, blocks, x, y, accumulate);       \
    }

AQK_DEFINE_Q8_MATVEC(q4_1, 20)
AQK_DEFINE_Q8_MATVEC(q8_0, 34)
AQK_DEFINE_Q8_MATVEC(q5_0, 22)
AQK_DEFINE_Q8_MATVEC(q5_1, 24)

float aqk_round_to_half(float x) { return chf_f16_to_f32(chf_f32_to_f16(x)); }
