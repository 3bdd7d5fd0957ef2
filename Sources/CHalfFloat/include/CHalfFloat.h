// Scalar conversions between Float32 and the two 16-bit float formats of stored K/V and GGUF
// weights (IEEE binary16 "fp16" and bfloat16), as raw uint16_t bit patterns. Header-only and
// shared by CActQKVKernels and CInferenceKernels; CoreTypes' HalfFloat (Swift) computes the same
// bits. Every function is exact or rounds to nearest, ties to even; none depends on the
// floating-point environment.
#pragma once
#include <stdint.h>
#include <string.h>

/// fp16 bits → Float32, exact for every pattern (normals, subnormals, ±0, ±∞, NaN payload kept).
static inline float chf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, rest = h & 0x7FFFu, bits;
    if (rest >= 0x7C00u) {
        bits = sign | 0x7F800000u | ((rest & 0x3FFu) << 13);
    } else {
        // Exponent and mantissa shifted into place, rescaled by 2^112: exact for normals and subnormals.
        uint32_t shifted = rest << 13;
        float f;
        memcpy(&f, &shifted, 4);
        f *= 0x1p112f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

/// bf16 bits → Float32 (exact).
static inline float chf_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

/// Float32 → fp16 bits, nearest-even; overflow → ±∞; NaN → sign | 0x7E00 | mantissa >> 13
/// (quiet, top payload bits kept: what F16C's vcvtps2ph gives).
static inline uint16_t chf_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    int exp = (int)((x >> 23) & 0xFF);
    uint32_t mant = x & 0x7FFFFFu;
    if (exp == 0xFF) return (uint16_t)(sign | 0x7C00u | (mant != 0 ? 0x200u | (mant >> 13) : 0));
    int e = exp - 127 + 15;
    if (e >= 0x1F) return (uint16_t)(sign | 0x7C00u);
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h += 1;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h += 1;  // a carry into the exponent is correct
    return (uint16_t)(sign | h);
}

/// Float32 → bf16 bits, nearest-even; NaN → upper half | 0x0040 (quiet).
static inline uint16_t chf_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}
