#include "internal.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void aqk_keep_large_allocations(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

static float dot_q4_1_scalar(const uint8_t *row, int blocks, const float *x, const float *sums) {
    float acc = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 20 * b;
        float d = chf_f16_to_f32(load_u16(blk)), m = chf_f16_to_f32(load_u16(blk + 2));
        const float *xb = x + 32 * b;
        float s = 0;
        for (int j = 0; j < 16; j++) {
            s += (float)(blk[4 + j] & 0x0F) * xb[j] + (float)(blk[4 + j] >> 4) * xb[j + 16];
        }
        acc += d * s + m * sums[b];
    }
    return acc;
}

static float dot_q8_0_scalar(const uint8_t *row, int blocks, const float *x) {
    float acc = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 34 * b;
        float d = chf_f16_to_f32(load_u16(blk));
        const int8_t *q = (const int8_t *)(blk + 2);
        const float *xb = x + 32 * b;
        float s = 0;
        for (int j = 0; j < 32; j++) s += (float)q[j] * xb[j];
        acc += d * s;
    }
    return acc;
}

static inline float exp_scalar(float x) {
    if (x < -87.0f) x = -87.0f;
    if (x > 88.0f) x = 88.0f;
    float n = nearbyintf(x * 1.44269504f);
    float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720; p = p * r + 1.0f / 120; p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6; p = p * r + 0.5f; p = p * r + 1; p = p * r + 1;
    int32_t e = (int32_t)n + 127;
    uint32_t bits = (uint32_t)e << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

// ---- AVX2 / FMA ------------------------------------------------------------------------------

#if AQK_X86

AQK_TARGET static float dot_q4_1_avx2(const uint8_t *row, int blocks, const float *x, const float *sums) {
    __m256 acc = _mm256_setzero_ps();
    float macc = 0;
    const __m128i low4 = _mm_set1_epi8(0x0F);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 20 * b;
        __m128i v = _mm_loadu_si128((const __m128i *)(blk + 4));
        __m128i lo = _mm_and_si128(v, low4);
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
        const float *xb = x + 32 * b;
        __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(blk)), s, acc);
        macc += f16_avx(blk + 2) * sums[b];
    }
    return hsum256(acc) + macc;
}

AQK_TARGET static float dot_q8_0_avx2(const uint8_t *row, int blocks, const float *x) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = row + 34 * b;
        __m128i q0 = _mm_loadu_si128((const __m128i *)(blk + 2));
        __m128i q1 = _mm_loadu_si128((const __m128i *)(blk + 18));
        const float *xb = x + 32 * b;
        __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q0)), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q0, 8))), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q1)), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q1, 8))), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(blk)), s, acc);
    }
    return hsum256(acc);
}

AQK_TARGET static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AQK_TARGET static float softmax_avx2(float *x, int n) {
    int i = 0;
    float mx = -INFINITY;
    if (n >= 8) {
        __m256 m = _mm256_set1_ps(-INFINITY);
        for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
        float t[8];
        _mm256_storeu_ps(t, m);
        for (int k = 0; k < 8; k++) mx = t[k] > mx ? t[k] : mx;
    }
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    __m256 mv = _mm256_set1_ps(mx), sv = _mm256_setzero_ps();
    i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, e);
        sv = _mm256_add_ps(sv, e);
    }
    float sum = hsum256(sv);
    for (; i < n; i++) { float e = exp_scalar(x[i] - mx); x[i] = e; sum += e; }
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    float invs = 1.0f / sum;
    for (; i < n; i++) x[i] *= invs;
    return sum;
}

AQK_TARGET static void swiglu_avx2(const float *g, const float *u, float *out, int n) {
    int i = 0;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 s = _mm256_div_ps(gv, _mm256_add_ps(one, exp256(_mm256_sub_ps(zero, gv))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) out[i] = g[i] / (1.0f + exp_scalar(-g[i])) * u[i];
}

AQK_TARGET static void exp_avx2(const float *x, float *out, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, exp256(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) out[i] = exp_scalar(x[i]);
}

AQK_TARGET512 static float dot_q4_1_avx512(const uint8_t *row, int blocks, const float *x, const float *sums) {
    // Two independent accumulator chains (even and odd blocks) so that the FMA latency overlaps.
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float macc0 = 0, macc1 = 0;
    const __m128i low4 = _mm_set1_epi8(0x0F);
    int b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const uint8_t *blk0 = row + 20 * b, *blk1 = blk0 + 20;
        __m128i v0 = _mm_loadu_si128((const __m128i *)(blk0 + 4));
        __m128i v1 = _mm_loadu_si128((const __m128i *)(blk1 + 4));
        const float *xb = x + 32 * b;
        __m512 s0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v0, low4))), _mm512_loadu_ps(xb));
        __m512 s1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v1, low4))), _mm512_loadu_ps(xb + 32));
        s0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v0, 4), low4))),
                             _mm512_loadu_ps(xb + 16), s0);
        s1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v1, 4), low4))),
                             _mm512_loadu_ps(xb + 48), s1);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk0)), s0, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk1)), s1, acc1);
        macc0 += f16_avx(blk0 + 2) * sums[b];
        macc1 += f16_avx(blk1 + 2) * sums[b + 1];
    }
    for (; b < blocks; b++) {
        const uint8_t *blk = row + 20 * b;
        __m128i v = _mm_loadu_si128((const __m128i *)(blk + 4));
        const float *xb = x + 32 * b;
        __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v, low4))), _mm512_loadu_ps(xb));
        s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), low4))),
                            _mm512_loadu_ps(xb + 16), s);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk)), s, acc0);
        macc0 += f16_avx(blk + 2) * sums[b];
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + (macc0 + macc1);
}

AQK_TARGET512 static float dot_q8_0_avx512(const uint8_t *row, int blocks, const float *x) {
    // Two independent accumulator chains (even and odd blocks), as in dot_q4_1_avx512.
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const uint8_t *blk0 = row + 34 * b, *blk1 = blk0 + 34;
        const float *xb = x + 32 * b;
        __m512 s0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk0 + 2)))), _mm512_loadu_ps(xb));
        __m512 s1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk1 + 2)))), _mm512_loadu_ps(xb + 32));
        s0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk0 + 18)))), _mm512_loadu_ps(xb + 16), s0);
        s1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk1 + 18)))), _mm512_loadu_ps(xb + 48), s1);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk0)), s0, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk1)), s1, acc1);
    }
    for (; b < blocks; b++) {
        const uint8_t *blk = row + 34 * b;
        const float *xb = x + 32 * b;
        __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2)))), _mm512_loadu_ps(xb));
        s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18)))), _mm512_loadu_ps(xb + 16), s);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(f16_avx(blk)), s, acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}
#endif

// ---- dispatch --------------------------------------------------------------------------------

// What the CPU supports is probed once per process; which of it a thread may use is a per-thread
// cap (2 by default), so that a test forcing the portable kernels on its own thread never changes
// the rounding of a forward pass running on another.
static int avx2_state = -1, avx512_state = -1, vnni_state = -1;
static _Thread_local int thread_level = 2, thread_vnni = 1;

static int cpu_has_avx2(void) {
#if AQK_X86
    int state = __atomic_load_n(&avx2_state, __ATOMIC_RELAXED);
    if (state < 0) {
        __builtin_cpu_init();
        state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        __atomic_store_n(&avx2_state, state, __ATOMIC_RELAXED);
    }
    return state;
#else
    return 0;
#endif
}

static int cpu_has_avx512(void) {
#if AQK_X86
    int state = __atomic_load_n(&avx512_state, __ATOMIC_RELAXED);
    if (state < 0) {
        __builtin_cpu_init();
        state = cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl");
        __atomic_store_n(&avx512_state, state, __ATOMIC_RELAXED);
    }
    return state;
#else
    return 0;
#endif
}

static int cpu_has_vnni(void) {
#if AQK_X86
    int state = __atomic_load_n(&vnni_state, __ATOMIC_RELAXED);
    if (state < 0) {
        __builtin_cpu_init();
        state = cpu_has_avx512() && __builtin_cpu_supports("avx512vnni");
        __atomic_store_n(&vnni_state, state, __ATOMIC_RELAXED);
    }
    return state;
#else
    return 0;
#endif
}

int aqk_uses_avx2(void) { return thread_level >= 1 && cpu_has_avx2(); }

int aqk_uses_avx512(void) { return thread_level >= 2 && cpu_has_avx512(); }

void aqk_set_kernel_level(int level) { thread_level = level < 0 ? 0 : (level > 2 ? 2 : level); }

int aqk_kernel_level(void) { return thread_level; }

int aqk_uses_vnni(void) { return thread_vnni && aqk_uses_avx512() && cpu_has_vnni(); }

void aqk_set_vnni(int allowed) { thread_vnni = allowed != 0; }

int aqk_vnni_allowed(void) { return thread_vnni; }

void aqk_matvec_q4_1(const void *rows, int row_count, int blocks, const float *x, const float *block_sums,
                     float *y, int accumulate) {
    const uint8_t *base = (const uint8_t *)rows;
    int fast = aqk_uses_avx2(), wide = aqk_uses_avx512();
    for (int r = 0; r < row_count; r++) {
        const uint8_t *row = base + (size_t)r * 20 * blocks;
        float v;
#if AQK_X86
        v = wide ? dot_q4_1_avx512(row, blocks, x, block_sums)
                 : fast ? dot_q4_1_avx2(row, blocks, x, block_sums) : dot_q4_1_scalar(row, blocks, x, block_sums);
#else
        (void)fast; (void)wide;
        v = dot_q4_1_scalar(row, blocks, x, block_sums);
#endif
        y[r] = accumulate ? y[r] + v : v;
    }
}

void aqk_matvec_q8_0(const void *rows, int row_count, int blocks, const float *x, float *y, int accumulate) {
    const uint8_t *base = (const uint8_t *)rows;
    int fast = aqk_uses_avx2(), wide = aqk_uses_avx512();
    for (int r = 0; r < row_count; r++) {
        const uint8_t *row = base + (size_t)r * 34 * blocks;
        float v;
#if AQK_X86
        v = wide ? dot_q8_0_avx512(row, blocks, x) : fast ? dot_q8_0_avx2(row, blocks, x) : dot_q8_0_scalar(row, blocks, x);
#else
        (void)fast; (void)wide;
        v = dot_q8_0_scalar(row, blocks, x);
#endif
        y[r] = accumulate ? y[r] + v : v;
    }
}

float aqk_softmax(float *x, int n) {
#if AQK_X86
    if (aqk_uses_avx2()) return softmax_avx2(x, n);
#endif
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0;
    for (int i = 0; i < n; i++) { x[i] = exp_scalar(x[i] - mx); sum += x[i]; }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
    return sum;
}

void aqk_swiglu(const float *gate, const float *up, float *out, int n) {
#if AQK_X86
    if (aqk_uses_avx2()) { swiglu_avx2(gate, up, out, n); return; }
#endif
    for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + exp_scalar(-gate[i])) * up[i];
}

void aqk_exp(const float *x, float *out, int n) {
#if AQK_X86
    if (aqk_uses_avx2()) { exp_avx2(x, out, n); return; }
#endif
    for (int i = 0; i < n; i++) out[i] = exp_scalar(x[i]);
}

#if AQK_X86
// Single-query attention is latency-bound when written as one accumulator per dot product (each
// FMA waits for the previous one): the kernels below keep 8 independent chains in flight — 4 keys
// × 2 accumulators for the scores, 8 vectors of the output (a 64- or 128-float slice of it) for the
// value sum — and read keys and values front to back once (per output slice).

/// Scores of keys j ..< j+4: scale · q·k_j into s[0 ..< 4]; `dim` a multiple of 16.
AQK_TARGET static inline void scores4_avx2(const float *q, const float *k, int dim, float scale, float *s) {
    __m256 a[4][2];
    for (int r = 0; r < 4; r++) a[r][0] = a[r][1] = _mm256_setzero_ps();
    for (int i = 0; i < dim; i += 16) {
        const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
        for (int r = 0; r < 4; r++) {
            a[r][0] = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k + (size_t)r * dim + i), a[r][0]);
            a[r][1] = _mm256_fmadd_ps(q1, _mm256_loadu_ps(k + (size_t)r * dim + i + 8), a[r][1]);
        }
    }
    // Four horizontal sums at once: pairwise hadds leave lane r of each half holding key r's halves.
    const __m256 h01 = _mm256_hadd_ps(_mm256_add_ps(a[0][0], a[0][1]), _mm256_add_ps(a[1][0], a[1][1]));
    const __m256 h23 = _mm256_hadd_ps(_mm256_add_ps(a[2][0], a[2][1]), _mm256_add_ps(a[3][0], a[3][1]));
    const __m256 h = _mm256_hadd_ps(h01, h23);
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    _mm_storeu_ps(s, _mm_mul_ps(t, _mm_set1_ps(scale)));
}

AQK_TARGET static void attend_one_avx2(const float *q, const float *keys, const float *values, int count, int dim,
                                       float scale, float *scores, float *out) {
    int j = 0;
    for (; j + 4 <= count; j += 4) scores4_avx2(q, keys + (size_t)j * dim, dim, scale, scores + j);
    for (; j < count; j++) {
        const float *k = keys + (size_t)j * dim;
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < dim; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), acc);
        scores[j] = hsum256(acc) * scale;
    }
    softmax_avx2(scores, count);
    // Output slices of 64 floats (8 accumulators) — `dim` is a multiple of 16: a last slice of 16…48.
    for (int i0 = 0; i0 < dim; i0 += 64) {
        const int nv = (dim - i0 < 64 ? dim - i0 : 64) / 8;
        __m256 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
        for (int jj = 0; jj < count; jj++) {
            const __m256 p = _mm256_set1_ps(scores[jj]);
            const float *v = values + (size_t)jj * dim + i0;
            for (int c = 0; c < nv; c++) acc[c] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * c), acc[c]);
        }
        for (int c = 0; c < nv; c++) _mm256_storeu_ps(out + i0 + 8 * c, acc[c]);
    }
}

/// As scores4_avx2 with 512-bit vectors; `dim` a multiple of 32.
AQK_TARGET512 static inline void scores4_avx512(const float *q, const float *k, int dim, float scale, float *s) {
    __m512 a[4][2];
    for (int r = 0; r < 4; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
    for (int i = 0; i < dim; i += 32) {
        const __m512 q0 = _mm512_loadu_ps(q + i), q1 = _mm512_loadu_ps(q + i + 16);
        for (int r = 0; r < 4; r++) {
            a[r][0] = _mm512_fmadd_ps(q0, _mm512_loadu_ps(k + (size_t)r * dim + i), a[r][0]);
            a[r][1] = _mm512_fmadd_ps(q1, _mm512_loadu_ps(k + (size_t)r * dim + i + 16), a[r][1]);
        }
    }
    __m256 h[4];
    for (int r = 0; r < 4; r++) {
        const __m512 v = _mm512_add_ps(a[r][0], a[r][1]);
        h[r] = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    }
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
    const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    _mm_storeu_ps(s, _mm_mul_ps(u, _mm_set1_ps(scale)));
}

AQK_TARGET512 static void attend_one_avx512(const float *q, const float *keys, const float *values, int count, int dim,
                                           float scale, float *scores, float *out) {
    int j = 0;
    for (; j + 4 <= count; j += 4) scores4_avx512(q, keys + (size_t)j * dim, dim, scale, scores + j);
    for (; j < count; j++) {
        const float *k = keys + (size_t)j * dim;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < dim; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(k + i), acc);
        scores[j] = _mm512_reduce_add_ps(acc) * scale;
    }
    softmax_avx2(scores, count);
    // Output slices of 128 floats (8 accumulators); a 64-float slice takes two keys per step.
    for (int i0 = 0; i0 < dim; i0 += 128) {
        const int nv = (dim - i0 < 128 ? dim - i0 : 128) / 16;
        __m512 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();
        int jj = 0;
        if (nv <= 4) {
            for (; jj + 2 <= count; jj += 2) {
                const __m512 p0 = _mm512_set1_ps(scores[jj]), p1 = _mm512_set1_ps(scores[jj + 1]);
                const float *v0 = values + (size_t)jj * dim + i0, *v1 = v0 + dim;
                for (int c = 0; c < nv; c++) {
                    acc[c] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(v0 + 16 * c), acc[c]);
                    acc[4 + c] = _mm512_fmadd_ps(p1, _mm512_loadu_ps(v1 + 16 * c), acc[4 + c]);
                }
            }
        }
        for (; jj < count; jj++) {
            const __m512 p = _mm512_set1_ps(scores[jj]);
            const float *v = values + (size_t)jj * dim + i0;
            for (int c = 0; c < nv; c++) acc[c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * c), acc[c]);
        }
        if (nv <= 4)
            for (int c = 0; c < nv; c++) acc[c] = _mm512_add_ps(acc[c], acc[4 + c]);
        for (int c = 0; c < nv; c++) _mm512_storeu_ps(out + i0 + 16 * c, acc[c]);
    }
}
#endif

void aqk_attend_one(const float *q, const float *keys, const float *values, int count, int dim, float scale,
                    float *scores, float *out) {
#if AQK_X86
    if (dim % 32 == 0 && aqk_uses_avx512()) { attend_one_avx512(q, keys, values, count, dim, scale, scores, out); return; }
    if (dim % 16 == 0 && aqk_uses_avx2()) { attend_one_avx2(q, keys, values, count, dim, scale, scores, out); return; }
#endif
    for (int j = 0; j < count; j++) {
        const float *k = keys + (size_t)j * dim;
        float s = 0;
        for (int i = 0; i < dim; i++) s += q[i] * k[i];
        scores[j] = s * scale;
    }
    aqk_softmax(scores, count);
    for (int i = 0; i < dim; i++) out[i] = 0;
    for (int j = 0; j < count; j++) {
        const float *v = values + (size_t)j * dim;
        float p = scores[j];
        for (int i = 0; i < dim; i++) out[i] += p * v[i];
    }
}

// ---- row dequantisation (prefill on demand) --------------------------------------------------

void aqk_dequantize_q4_1(const void *rows, long blocks, float *out) {
#pragma clang fp contract(off)
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 20 * b;
        const float d = chf_f16_to_f32(load_u16(blk)), m = chf_f16_to_f32(load_u16(blk + 2));
        float *y = out + 32 * b;
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(blk[4 + j] & 0x0F) + m;
            y[j + 16] = d * (float)(blk[4 + j] >> 4) + m;
        }
    }
}

void aqk_dequantize_q8_0(const void *rows, long blocks, float *out) {
    const uint8_t *p = (const uint8_t *)rows;
    for (long b = 0; b < blocks; b++) {
        const uint8_t *blk = p + 34 * b;
        const float d = chf_f16_to_f32(load_u16(blk));
        const int8_t *q = (const int8_t *)(blk + 2);
        float *y = out + 32 * b;
        for (int j = 0; j < 32; j++) y[j] = d * (float)q[j];
    }
}
