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
