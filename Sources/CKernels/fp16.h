// Portable half / bfloat16 to float conversion by bit manipulation (exact for every input).
#ifndef CKERNELS_FP16_H
#define CKERNELS_FP16_H

#include <stdint.h>
#include <string.h>

static inline float vk_bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t vk_f32_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/// IEEE binary16 -> binary32, exact (subnormals, infinities and NaNs included).
static inline float vk_fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t mant = h & 0x3FFu;
    if (exp == 0) {
        if (mant == 0) return vk_bits_to_f32(sign);
        // Subnormal: mant * 2^-24, exactly representable as a normal float.
        const float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return vk_bits_to_f32(sign | 0x7F800000u | (mant << 13));
    return vk_bits_to_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

/// binary32 -> IEEE binary16, rounded to nearest even (what F16C's vcvtps2ph does): overflow
/// gives infinity, tiny values become subnormals or zero, NaNs stay quiet NaNs.
static inline uint16_t vk_fp32_to_fp16(float f) {
    const uint32_t x = vk_f32_to_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00u | (uint16_t)((ax >> 13) & 0x3FFu);
    // 65520 and above round past the largest half (65504).
    if (ax >= 0x477FF000u) return sign | 0x7C00u;
    if (ax >= 0x38800000u) {
        // Normal: rebias the exponent (127 -> 15), then round off 13 mantissa bits; a carry
        // into the exponent is the correct result.
        uint32_t m = ax - 0x38000000u;
        m += 0xFFFu + ((m >> 13) & 1u);
        return sign | (uint16_t)(m >> 13);
    }
    // Subnormal or zero: adding 0.5 makes the float adder round to multiples of 2^-24, the
    // half subnormal step, with ties to even.
    return sign | (uint16_t)(vk_f32_to_bits(vk_bits_to_f32(ax) + 0.5f) - 0x3F000000u);
}

/// bfloat16 -> binary32: the top half of the float's bits.
static inline float vk_bf16_to_fp32(uint16_t h) {
    return vk_bits_to_f32((uint32_t)h << 16);
}

/// Reads a little-endian fp16 stored at p (no alignment needed).
static inline float vk_load_fp16(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return vk_fp16_to_fp32(h);
}

#endif
