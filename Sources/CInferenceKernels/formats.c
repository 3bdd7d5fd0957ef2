// Q5_0, Q5_1, Q4_K and Q6_K rows with Float32 activations: dequantisation (the on-demand batched
// products) and matrix-vector products that dequantise 256 values at a time into a stack buffer
// and dot them with x. The 8-bit-activation products are in q8_activations.c (Q5_0, Q5_1) and
// q8k_activations.c (Q4_K, Q6_K).
#include "internal.h"

// The dequantised values must equal GGUFDequantizer's bit for bit: the same Float32 products and
// sums, never fused into FMAs.
#pragma STDC FP_CONTRACT OFF

void aqk_dequantize_q5_0(const void *rows, long blocks, float *out) {
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 22 * b;
        const float d = chf_f16_to_f32(load_u16(blk));
        const uint32_t qh = load_u32(blk + 2);
        const uint8_t *qs = blk + 6;
        float *y = out + 32 * b;
        for (int j = 0; j < 16; j++) {
            const int lo = (qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            const int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(lo - 16);
            y[j + 16] = d * (float)(hi - 16);
        }
    }
}

void aqk_dequantize_q5_1(const void *rows, long blocks, float *out) {
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 24 * b;
        const float d = chf_f16_to_f32(load_u16(blk)), m = chf_f16_to_f32(load_u16(blk + 2));
        const uint32_t qh = load_u32(blk + 4);
        const uint8_t *qs = blk + 8;
        float *y = out + 32 * b;
        for (int j = 0; j < 16; j++) {
            const int lo = (qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            const int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)lo + m;
            y[j + 16] = d * (float)hi + m;
        }
    }
}

void aqk_dequantize_q4_K(const void *rows, long blocks, float *out) {
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 144 * b;
        const float d = chf_f16_to_f32(load_u16(blk)), dmin = chf_f16_to_f32(load_u16(blk + 2));
        uint8_t sc[8], mn[8];
        aqk_q4_K_scales(blk + 4, sc, mn);
        const uint8_t *qs = blk + 16;
        float *y = out + 256 * b;
        for (int g = 0; g < 4; g++) {
            const float d0 = d * (float)sc[2 * g], m0 = dmin * (float)mn[2 * g];
            const float d1 = d * (float)sc[2 * g + 1], m1 = dmin * (float)mn[2 * g + 1];
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = qs[32 * g + l];
                y[64 * g + l] = d0 * (float)(byte & 0x0F) - m0;
                y[64 * g + l + 32] = d1 * (float)(byte >> 4) - m1;
            }
        }
    }
}

void aqk_dequantize_q6_K(const void *rows, long blocks, float *out) {
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 210 * b;
        const float d = chf_f16_to_f32(load_u16(blk + 208));
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(blk + 192 + 8 * h);
            float *y = out + 256 * b + 128 * h;
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q0 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
                const int q1 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = (d * (float)sc[is]) * (float)q0;
                y[l + 32] = (d * (float)sc[is + 2]) * (float)q1;
                y[l + 64] = (d * (float)sc[is + 4]) * (float)q2;
                y[l + 96] = (d * (float)sc[is + 6]) * (float)q3;
            }
        }
    }
}

// ---- Float32 products: dequantise 256 values, dot them with x ------------------------------------

static float dot_f32_scalar(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#if AQK_X86
// n is a multiple of 32 (whole blocks).
AQK_TARGET static float dot_f32_avx2(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

AQK_TARGET512 static float dot_f32_avx512(const float *a, const float *b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#endif

typedef void (*dequantize_fn)(const void *rows, long blocks, float *out);

static void matvec_dequantizing(dequantize_fn dequantize, size_t block_bytes, int block_values, const void *rows,
                                int row_count, int blocks, const float *x, float *y, int accumulate) {
    float (*dot)(const float *, const float *, int) = dot_f32_scalar;
#if AQK_X86
    if (aqk_uses_avx512()) dot = dot_f32_avx512;
    else if (aqk_uses_avx2()) dot = dot_f32_avx2;
#endif
    const int per_chunk = 256 / block_values;
    float chunk[256];
    const uint8_t *base = (const uint8_t *)rows;
    for (int r = 0; r < row_count; r++) {
        const uint8_t *row = base + (size_t)r * block_bytes * blocks;
        float acc = 0;
        for (int b = 0; b < blocks; b += per_chunk) {
            const int n = blocks - b < per_chunk ? blocks - b : per_chunk;
            dequantize(row + (size_t)b * block_bytes, n, chunk);
            acc += dot(chunk, x + (size_t)b * block_values, n * block_values);
        }
        y[r] = accumulate ? y[r] + acc : acc;
    }
}

void aqk_matvec_q5_0(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate) {
    matvec_dequantizing(aqk_dequantize_q5_0, 22, 32, rows, row_count, blocks, x, y, accumulate);
}

void aqk_matvec_q5_1(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate) {
    matvec_dequantizing(aqk_dequantize_q5_1, 24, 32, rows, row_count, blocks, x, y, accumulate);
}

void aqk_matvec_q4_K(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate) {
    matvec_dequantizing(aqk_dequantize_q4_K, 144, 256, rows, row_count, blocks, x, y, accumulate);
}

void aqk_matvec_q6_K(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate) {
    matvec_dequantizing(aqk_dequantize_q6_K, 210, 256, rows, row_count, blocks, x, y, accumulate);
}
