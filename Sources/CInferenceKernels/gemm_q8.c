// Batched 8-bit products (prefill): block-quantised weights × activation rows rounded to 8 bits,
// with integer dot products on weights repacked per 16-row panel: AVX-512 VNNI (vpdpbusd), AVX2
// (vpmaddubsw + vpmaddwd) or portable C, whichever the calling thread's kernel level allows.
//
// Every weight group of G = 32 values (16 for Q6_K) is written as signed codes w with a Float32
// scale dw and, for the formats with a minimum, mw:
//   Q8_0 w = q, Q5_0 w = code − 16, Q6_K w = code − 32 (dw = d, or d·sc for Q6_K);
//   Q4_1, Q5_1 w = code, mw = m; Q4_K w = code, dw = d·sc, mw = −dmin·mn.
// vpdpbusd multiplies unsigned by signed bytes, so the activation codes q enter as q + 128 and each
// group's integer sum starts at −128·Σw (per weight row, computed when packing): Σ w·q exactly.
// A product over one group is then (dw·d_x)·Σ w·q [+ mw·(d_x·Σq), with llama.cpp's Float16-rounded
// s for Q4_1/Q5_1]. Activations are rounded exactly as the single-vector products round them
// (llama.cpp's Q8_0/Q8_1 or Q8_K blocks), once per call for every panel, so per 32-value block
// (Q8_0, Q5_0, Q4_1, Q5_1) a batched product adds the very term the single-vector product adds;
// they differ by Float32 summation order (and, for K-quants, by summing per group what those sum
// per super-block).
//
// Panel layout (16 weight rows): per group, G/4 vectors of 64 bytes — vector j, lane l holds codes
// 4j … 4j+3 of row l — then dw[16], mw[16] (Float32) and the starts −128·Σw [16] (int32). One
// vpdpbusd multiplies 4 codes of 16 rows by the same 4 activation codes (broadcast), so the 16
// lanes accumulate 16 outputs of one token. AVX2 takes each 64-byte vector as two halves (rows 0–7,
// rows 8–15): vpmaddubsw multiplies the broadcast unsigned activation codes by the signed weight
// codes in pairs (|w| ≤ 32 for every format but Q8_0, so a pair stays within int16), vpmaddwd
// adds the pairs. Q8_0 weights reach ±127, where a pair of (q + 128)·w would saturate; there
// vpmaddubsw takes |w| and the activation q (signed, |q| ≤ 127) with w's sign, and the sum starts
// at 0. Every level computes the same exact integer sums and then the same Float32 operations per
// group and lane (d_w·d_x, then one fused multiply-add, then the minimum term's), so the batched
// products are bit-identical across levels.
#include "internal.h"

int aqk_gemm_group(AQKBlockFormat format) { return format == AQK_FORMAT_Q6_K ? 16 : 32; }

static size_t group_bytes(int group) { return (size_t)group * 16 + 192; }

size_t aqk_gemm_scratch_bytes(AQKBlockFormat format, int k) {
    const int g = aqk_gemm_group(format);
    return (size_t)(k / g) * group_bytes(g) + (size_t)k + (size_t)(k / g) * 2 * sizeof(float) + 64;
}

static size_t block_bytes(AQKBlockFormat format) {
    switch (format) {
    case AQK_FORMAT_Q4_1: return 20;
    case AQK_FORMAT_Q8_0: return 34;
    case AQK_FORMAT_Q5_0: return 22;
    case AQK_FORMAT_Q5_1: return 24;
    case AQK_FORMAT_Q4_K: return 144;
    case AQK_FORMAT_Q6_K: return 210;
    }
    return 0;
}

static int block_values(AQKBlockFormat format) {
    return format == AQK_FORMAT_Q4_K || format == AQK_FORMAT_Q6_K ? 256 : 32;
}

/// One row of `k` values as signed codes w[k] and per-group dw, mw (see the file comment).
static void decode_row(AQKBlockFormat format, const uint8_t *row, int k, int8_t *u, float *dw, float *mw) {
    const int blocks = k / block_values(format);
    const size_t bb = block_bytes(format);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + bb * (size_t)b;
        switch (format) {
        case AQK_FORMAT_Q4_1:
        case AQK_FORMAT_Q5_1: {
            const float d = chf_f16_to_f32(load_u16(blk)), m = chf_f16_to_f32(load_u16(blk + 2));
            const int five = format == AQK_FORMAT_Q5_1;
            const uint32_t qh = five ? load_u32(blk + 4) : 0;
            const uint8_t *qs = blk + (five ? 8 : 4);
            int8_t *o = u + 32 * b;
            for (int j = 0; j < 16; j++) {
                o[j] = (int8_t)((qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
                o[j + 16] = (int8_t)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            }
            dw[b] = d;
            mw[b] = m;
            break;
        }
        case AQK_FORMAT_Q8_0: {
            const float d = chf_f16_to_f32(load_u16(blk));
            int8_t *o = u + 32 * b;
            memcpy(o, blk + 2, 32);
            dw[b] = d;
            mw[b] = 0;
            break;
        }
        case AQK_FORMAT_Q5_0: {
            const float d = chf_f16_to_f32(load_u16(blk));
            const uint32_t qh = load_u32(blk + 2);
            const uint8_t *qs = blk + 6;
            int8_t *o = u + 32 * b;
            for (int j = 0; j < 16; j++) {
                o[j] = (int8_t)(((qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16);
                o[j + 16] = (int8_t)(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
            }
            dw[b] = d;
            mw[b] = 0;
            break;
        }
        case AQK_FORMAT_Q4_K: {
            const float d = chf_f16_to_f32(load_u16(blk)), dmin = chf_f16_to_f32(load_u16(blk + 2));
            uint8_t sc[8], mn[8];
            aqk_q4_K_scales(blk + 4, sc, mn);
            const uint8_t *qs = blk + 16;
            int8_t *o = u + 256 * b;
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 32; l++) {
                    o[64 * g + l] = (int8_t)(qs[32 * g + l] & 0x0F);
                    o[64 * g + 32 + l] = (int8_t)(qs[32 * g + l] >> 4);
                }
            }
            for (int j = 0; j < 8; j++) {
                dw[8 * b + j] = d * (float)sc[j];
                mw[8 * b + j] = -(dmin * (float)mn[j]);
            }
            break;
        }
        case AQK_FORMAT_Q6_K: {
            const float d = chf_f16_to_f32(load_u16(blk + 208));
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(blk + 192 + 8 * h);
                int8_t *o = u + 256 * b + 128 * h;
                for (int l = 0; l < 32; l++) {
                    o[l] = (int8_t)(((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32);
                    o[l + 32] = (int8_t)(((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
                // 16-value groups: group 8h + i has scale sc[i] (values 16i ... 16i+15 of this half).
                for (int i = 0; i < 8; i++) {
                    dw[16 * b + 8 * h + i] = d * (float)sc[i];
                    mw[16 * b + 8 * h + i] = 0;
                }
            }
            break;
        }
        }
    }
}

/// Packs rows [0, count) (count ≤ 16; missing rows as zeros) of `format` into a panel.
static void pack_panel(AQKBlockFormat format, const uint8_t *rows, size_t row_bytes, int count, int k, uint8_t *panel,
                       int8_t *w, float *dw, float *mw) {
    const int g = aqk_gemm_group(format), groups = k / g;
    const size_t gb = group_bytes(g);
    if (count < 16) memset(panel, 0, gb * (size_t)groups);
    for (int r = 0; r < count; r++) {
        decode_row(format, rows + row_bytes * (size_t)r, k, w, dw, mw);
        for (int s = 0; s < groups; s++) {
            uint8_t *p = panel + gb * (size_t)s;
            const int8_t *src = w + (size_t)g * s;
            int sum = 0;
            for (int j = 0; j < g; j++) sum += src[j];
            for (int j = 0; j < g / 4; j++) memcpy(p + 64 * j + 4 * r, src + 4 * j, 4);
            float *pd = (float *)(p + 16 * g);
            pd[r] = dw[s];
            pd[16 + r] = mw[s];
            ((int32_t *)(pd + 32))[r] = -128 * sum;
        }
    }
}

// ---- activations -------------------------------------------------------------------------------------

size_t aqk_prepared_activations_bytes(int rows, int k) {
    // codes, then 1 array per 16-value group and 3 per 32-value group, each padded to 64 bytes.
    const size_t r = (size_t)rows;
    return ((r * k + 63) / 64 + ((r * (k / 16) * 4 + 63) / 64) + 3 * ((r * (k / 32) * 4 + 63) / 64)) * 64;
}

AQKPreparedActivations aqk_prepared_activations_at(void *buffer, int rows, int k, int first) {
    const size_t r = (size_t)rows, g16 = (size_t)(k / 16), g32 = (size_t)(k / 32);
    const size_t c = (r * k + 63) / 64 * 64, a16 = (r * g16 * 4 + 63) / 64 * 64, a32 = (r * g32 * 4 + 63) / 64 * 64;
    uint8_t *p = (uint8_t *)buffer;
    AQKPreparedActivations v;
    v.codes = p + (size_t)first * k;
    v.scale16 = (float *)(p + c) + (size_t)first * g16;
    v.scale32 = (float *)(p + c + a16) + (size_t)first * g32;
    v.scaled_sum32 = (float *)(p + c + a16 + a32) + (size_t)first * g32;
    v.rounded_sum32 = (float *)(p + c + a16 + 2 * a32) + (size_t)first * g32;
    return v;
}

void aqk_prepare_activations(const float *x, long stride, int tokens, int k, int per_256, AQKPreparedActivations out) {
    const int g32 = k / 32, g16 = k / 16;
    if (!x) {
        memset(out.codes, 0x80, (size_t)tokens * k);  // code 0
        memset(out.scale16, 0, sizeof(float) * g16 * (size_t)tokens);
        memset(out.scale32, 0, sizeof(float) * g32 * (size_t)tokens);
        memset(out.scaled_sum32, 0, sizeof(float) * g32 * (size_t)tokens);
        memset(out.rounded_sum32, 0, sizeof(float) * g32 * (size_t)tokens);
        return;
    }
    for (int t = 0; t < tokens; t++) {
        const float *xt = x + stride * (long)t;
        uint8_t *codes = out.codes + (size_t)k * t;
        float *d16 = out.scale16 + (size_t)g16 * t, *d32 = out.scale32 + (size_t)g32 * t;
        float *m32 = out.scaled_sum32 + (size_t)g32 * t, *s32 = out.rounded_sum32 + (size_t)g32 * t;
        if (per_256) {
            for (int b = 0; b < k / 256; b++) {
                AQKActivationBlockK blk;
                aqk_quantize_activations_k(xt + 256 * b, 1, &blk);
                for (int j = 0; j < 256; j++) codes[256 * b + j] = (uint8_t)(blk.q[j] ^ 0x80);
                for (int i = 0; i < 16; i++) d16[16 * b + i] = blk.d;
                for (int i = 0; i < 8; i++) {
                    const int sum = blk.bsums[2 * i] + blk.bsums[2 * i + 1];
                    d32[8 * b + i] = blk.d;
                    m32[8 * b + i] = s32[8 * b + i] = blk.d * (float)sum;
                }
            }
        } else {
            for (int b = 0; b < g32; b++) {
                AQKActivationBlock blk;
                aqk_quantize_activations(xt + 32 * b, 1, &blk);
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    codes[32 * b + j] = (uint8_t)(blk.q[j] ^ 0x80);
                    sum += blk.q[j];
                }
                d16[2 * b] = d16[2 * b + 1] = d32[b] = blk.d;
                m32[b] = blk.d * (float)sum;
                s32[b] = blk.s;
            }
        }
    }
}

// ---- products ------------------------------------------------------------------------------------------

/// Tokens per micro-tile: 8 float accumulators of 16 outputs each.
#define AQK_TILE_TOKENS 8

#if AQK_X86
/// One panel × up to AQK_TILE_TOKENS tokens (rows of `codes` k apart; the tile reads all 8, stores
/// `tile_tokens`); NV = G/4 code vectors per group; MINS: add mw·mx per group.
#define AQK_DEFINE_PANEL_TILE(NAME, NV, MINS)                                                                   \
    AQK_TARGET_VNNI static void NAME(const uint8_t *panel, int groups, const uint8_t *codes, int k,            \
                                     const float *dx, const float *mx, float *y, long ldy, int tile_tokens,     \
                                     __mmask16 lanes, int accumulate) {                                         \
        const size_t gb = group_bytes(4 * NV);                                                                  \
        __m512 acc[AQK_TILE_TOKENS];                                                                            \
        for (int t = 0; t < AQK_TILE_TOKENS; t++) acc[t] = _mm512_setzero_ps();                                 \
        for (int s = 0; s < groups; s++) {                                                                      \
            const uint8_t *p = panel + gb * (size_t)s;                                                          \
            __m512i w[NV];                                                                                      \
            for (int j = 0; j < NV; j++) w[j] = _mm512_loadu_si512((const void *)(p + 64 * j));                \
            const __m512 dw = _mm512_loadu_ps((const float *)(p + 64 * NV));                                   \
            const __m512 mw = _mm512_loadu_ps((const float *)(p + 64 * NV) + 16);                              \
            const __m512i start = _mm512_loadu_si512((const void *)(p + 64 * NV + 128));                        \
            (void)mw; (void)mx;                                                                                 \
            _Pragma("clang loop unroll(full)")                                                                  \
            for (int t = 0; t < AQK_TILE_TOKENS; t++) {                                                         \
                const uint8_t *c = codes + (size_t)k * t + (size_t)(4 * NV) * s;                                \
                const size_t at = (size_t)groups * t + s;                                                       \
                /* two chains of vpdpbusd (even and odd j) halve the latency of the integer sum */              \
                __m512i sum0 = start, sum1 = _mm512_setzero_si512();                                            \
                _Pragma("clang loop unroll(full)")                                                              \
                for (int j = 0; j < NV; j += 2) {                                                               \
                    int32_t four0, four1;                                                                       \
                    memcpy(&four0, c + 4 * j, 4);                                                               \
                    memcpy(&four1, c + 4 * j + 4, 4);                                                           \
                    sum0 = _mm512_dpbusd_epi32(sum0, _mm512_set1_epi32(four0), w[j]);                           \
                    sum1 = _mm512_dpbusd_epi32(sum1, _mm512_set1_epi32(four1), w[j + 1]);                       \
                }                                                                                               \
                const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(dx[at]));                                 \
                acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(_mm512_add_epi32(sum0, sum1)), acc[t]);      \
                if (MINS) acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(mx[at]), mw, acc[t]);                         \
            }                                                                                                   \
        }                                                                                                       \
        for (int t = 0; t < tile_tokens; t++) {                                                                 \
            float *yt = y + ldy * t;                                                                            \
            __m512 v = acc[t];                                                                                  \
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, yt));                            \
            _mm512_mask_storeu_ps(yt, lanes, v);                                                                \
        }                                                                                                       \
    }

AQK_DEFINE_PANEL_TILE(panel_tile32_vnni, 8, 0)
AQK_DEFINE_PANEL_TILE(panel_tile32_mins_vnni, 8, 1)
AQK_DEFINE_PANEL_TILE(panel_tile16_vnni, 4, 0)

/// The AVX2 form of a panel tile for the 8 rows of half `half` (0: rows 0–7, 1: rows 8–15), storing
/// `rows` of them (≤ 8); SIGNED: Q8_0 (see the file comment).
#define AQK_DEFINE_PANEL_TILE_AVX2(NAME, NV, MINS, SIGNED)                                                       \
    AQK_TARGET static void NAME(const uint8_t *panel, int groups, const uint8_t *codes, int k, const float *dx,   \
                                const float *mx, float *y, long ldy, int tile_tokens, int half, int rows,         \
                                int accumulate) {                                                                 \
        const size_t gb = group_bytes(4 * NV);                                                                  \
        const __m256i ones = _mm256_set1_epi16(1);                                                              \
        __m256 acc[AQK_TILE_TOKENS];                                                                            \
        for (int t = 0; t < AQK_TILE_TOKENS; t++) acc[t] = _mm256_setzero_ps();                                 \
        for (int s = 0; s < groups; s++) {                                                                      \
            const uint8_t *p = panel + gb * (size_t)s;                                                          \
            __m256i w[NV], aw[NV];                                                                              \
            for (int j = 0; j < NV; j++) {                                                                      \
                w[j] = _mm256_loadu_si256((const __m256i *)(p + 64 * j + 32 * half));                           \
                aw[j] = SIGNED ? _mm256_abs_epi8(w[j]) : w[j];                                                   \
            }                                                                                                   \
            const float *pd = (const float *)(p + 64 * NV) + 8 * half;                                          \
            const __m256 dw = _mm256_loadu_ps(pd), mw = _mm256_loadu_ps(pd + 16);                               \
            const __m256i start = SIGNED ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)(pd + 32)); \
            (void)mw; (void)mx;                                                                                 \
            _Pragma("clang loop unroll(full)")                                                                  \
            for (int t = 0; t < AQK_TILE_TOKENS; t++) {                                                         \
                const uint8_t *c = codes + (size_t)k * t + (size_t)(4 * NV) * s;                                \
                const size_t at = (size_t)groups * t + s;                                                       \
                __m256i sum = start;                                                                            \
                _Pragma("clang loop unroll(full)")                                                              \
                for (int j = 0; j < NV; j++) {                                                                  \
                    int32_t four;                                                                               \
                    memcpy(&four, c + 4 * j, 4);                                                                \
                    __m256i a = _mm256_set1_epi32(four);                                                        \
                    if (SIGNED) a = _mm256_sign_epi8(_mm256_xor_si256(a, _mm256_set1_epi8((char)0x80)), w[j]);   \
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(                                              \
                              SIGNED ? _mm256_maddubs_epi16(aw[j], a) : _mm256_maddubs_epi16(a, w[j]), ones));   \
                }                                                                                               \
                const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx[at]));                                 \
                acc[t] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sum), acc[t]);                               \
                if (MINS) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(mx[at]), mw, acc[t]);                         \
            }                                                                                                   \
        }                                                                                                       \
        for (int t = 0; t < tile_tokens; t++) {                                                                 \
            float *yt = y + ldy * t + 8 * half;                                                                 \
            float v[8];                                                                                         \
            _mm256_storeu_ps(v, acc[t]);                                                                        \
            for (int r = 0; r < rows; r++) yt[r] = accumulate ? yt[r] + v[r] : v[r];                            \
        }                                                                                                       \
    }

AQK_DEFINE_PANEL_TILE_AVX2(panel_tile32_avx2, 8, 0, 0)
AQK_DEFINE_PANEL_TILE_AVX2(panel_tile32_mins_avx2, 8, 1, 0)
AQK_DEFINE_PANEL_TILE_AVX2(panel_tile32_signed_avx2, 8, 0, 1)
AQK_DEFINE_PANEL_TILE_AVX2(panel_tile16_avx2, 4, 0, 0)
#endif

/// The portable form of a panel tile: the same integer sums and Float32 operations per row and token.
static void panel_tile_scalar(const uint8_t *panel, int groups, int g, int mins, const uint8_t *codes, int k,
                              const float *dx, const float *mx, float *y, long ldy, int tile_tokens, int rows,
                              int accumulate) {
    const size_t gb = group_bytes(g);
    for (int t = 0; t < tile_tokens; t++) {
        for (int r = 0; r < rows; r++) {
            float acc = 0;
            for (int s = 0; s < groups; s++) {
                const uint8_t *p = panel + gb * (size_t)s;
                const float *pd = (const float *)(p + 16 * g);
                const uint8_t *c = codes + (size_t)k * t + (size_t)g * s;
                int32_t sum = ((const int32_t *)(pd + 32))[r];
                for (int j = 0; j < g; j++) sum += (int32_t)c[j] * (int32_t)(int8_t)p[64 * (j / 4) + 4 * r + j % 4];
                const size_t at = (size_t)groups * t + s;
                const float scale = pd[r] * dx[at];
                acc = fmaf(scale, (float)sum, acc);
                if (mins) acc = fmaf(mx[at], pd[16 + r], acc);
            }
            float *out = y + ldy * t + r;
            *out = accumulate ? *out + acc : acc;
        }
    }
}

void aqk_gemm_q8(AQKBlockFormat format, const void *rows, int row_count, int k, AQKPreparedActivations x, int tokens,
                 float *y, long ldy, int accumulate, void *scratch) {
    const int g = aqk_gemm_group(format), groups = k / g;
    const int mins = format == AQK_FORMAT_Q4_1 || format == AQK_FORMAT_Q5_1 || format == AQK_FORMAT_Q4_K;
    const size_t row_bytes = block_bytes(format) * (size_t)(k / block_values(format));
    uint8_t *panel = (uint8_t *)scratch;
    int8_t *w = (int8_t *)(panel + group_bytes(g) * (size_t)groups);
    float *dw = (float *)(((uintptr_t)(w + k) + 15) & ~(uintptr_t)15), *mw = dw + groups;
    const float *dx = g == 16 ? x.scale16 : x.scale32;
    const float *mx = format == AQK_FORMAT_Q4_K ? x.scaled_sum32 : x.rounded_sum32;
    const uint8_t *base = (const uint8_t *)rows;
#if AQK_X86
    const int level = aqk_uses_vnni() ? 2 : aqk_uses_avx2() ? 1 : 0;
#else
    const int level = 0;
#endif
    for (int r0 = 0; r0 < row_count; r0 += 16) {
        const int count = row_count - r0 < 16 ? row_count - r0 : 16;
        pack_panel(format, base + row_bytes * (size_t)r0, row_bytes, count, k, panel, w, dw, mw);
        for (int t = 0; t < tokens; t += AQK_TILE_TOKENS) {
            const int n = tokens - t < AQK_TILE_TOKENS ? tokens - t : AQK_TILE_TOKENS;
            const uint8_t *c = x.codes + (size_t)k * t;
            const size_t at = (size_t)groups * t;
            float *yt = y + r0 + ldy * t;
#if AQK_X86
            if (level == 2) {
                const __mmask16 lanes = (__mmask16)((1u << count) - 1);
                if (g == 16) panel_tile16_vnni(panel, groups, c, k, dx + at, NULL, yt, ldy, n, lanes, accumulate);
                else if (mins) panel_tile32_mins_vnni(panel, groups, c, k, dx + at, mx + at, yt, ldy, n, lanes, accumulate);
                else panel_tile32_vnni(panel, groups, c, k, dx + at, NULL, yt, ldy, n, lanes, accumulate);
                continue;
            }
            if (level == 1) {
                for (int half = 0; half < 2 && 8 * half < count; half++) {
                    const int h = count - 8 * half < 8 ? count - 8 * half : 8;
                    if (g == 16) panel_tile16_avx2(panel, groups, c, k, dx + at, NULL, yt, ldy, n, half, h, accumulate);
                    else if (mins) panel_tile32_mins_avx2(panel, groups, c, k, dx + at, mx + at, yt, ldy, n, half, h, accumulate);
                    else if (format == AQK_FORMAT_Q8_0)
                        panel_tile32_signed_avx2(panel, groups, c, k, dx + at, NULL, yt, ldy, n, half, h, accumulate);
                    else panel_tile32_avx2(panel, groups, c, k, dx + at, NULL, yt, ldy, n, half, h, accumulate);
                }
                continue;
            }
#endif
            panel_tile_scalar(panel, groups, g, mins, c, k, dx + at, mx + at, yt, ldy, n, count, accumulate);
        }
    }
}
