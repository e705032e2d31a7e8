// Quantized block layouts. These mirror ggml's `ggml-common.h` byte for byte (the GGUF tensor data
// format): the structs below must keep the same member order and sizes as block_q4_0, block_q4_1,
// block_q5_0, block_q5_1, block_q8_0, block_q2_K, block_q3_K, block_q4_K, block_q5_K, block_q6_K,
// block_iq4_nl and block_iq4_xs there (QK_K = 256, K_SCALE_SIZE = 12).
#ifndef CKERNELS_BLOCKS_H
#define CKERNELS_BLOCKS_H

#include <stdint.h>
#include <string.h>

#define VK_QK 32     // elements per Q4_0 / Q4_1 / Q8_0 block
#define VK_QK_K 256  // elements per K-quant super-block

// Q4_0: x = d * (q - 8); element j in the low nibble of qs[j], element j+16 in the high nibble.
typedef struct {
    uint16_t d;          // fp16 scale
    uint8_t qs[VK_QK / 2];
} vk_block_q4_0;

// Q4_1: x = d * q + m; nibble order as Q4_0.
typedef struct {
    uint16_t d;          // fp16 scale
    uint16_t m;          // fp16 minimum
    uint8_t qs[VK_QK / 2];
} vk_block_q4_1;

// Q5_0: x = d * (q - 16) with a 5-bit q: the low 4 bits as Q4_0's nibbles, the fifth bit of
// element e is bit e of qh (read little-endian).
typedef struct {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[VK_QK / 2];
} vk_block_q5_0;

// Q5_1: x = d * q + m; bits as Q5_0.
typedef struct {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[VK_QK / 2];
} vk_block_q5_1;

// Q8_0: x = d * q.
typedef struct {
    uint16_t d;
    int8_t qs[VK_QK];
} vk_block_q8_0;

// Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales` (see vk_k4_scale_min).
// For each 64-element chunk j (0..3): elements [64j, 64j+32) are the low nibbles of
// qs[32j .. 32j+32) with sub-block 2j, elements [64j+32, 64j+64) the high nibbles with sub-block
// 2j+1. x = d*sc * q - dmin*m.
typedef struct {
    uint16_t d;          // fp16 super-block scale for the scales
    uint16_t dmin;       // fp16 super-block scale for the mins
    uint8_t scales[12];
    uint8_t qs[VK_QK_K / 2];
} vk_block_q4_K;

// Q5_K: as Q4_K plus a fifth bit: for chunk j, element 64j+l (l < 32) takes bit 2j of qh[l] and
// element 64j+32+l takes bit 2j+1 of qh[l], worth 16.
typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[VK_QK_K / 8];
    uint8_t qs[VK_QK_K / 2];
} vk_block_q5_K;

// Q6_K: 16 sub-blocks of 16 with int8 scales. For each 128-element half h and l < 32 (ql advanced
// by 64h, qh by 32h, scales by 8h):
//   x[128h + l]      = d*sc[l/16 + 0] * ((ql[l]    & 15 | ((qh[l] >> 0) & 3) << 4) - 32)
//   x[128h + l + 32] = d*sc[l/16 + 2] * ((ql[l+32] & 15 | ((qh[l] >> 2) & 3) << 4) - 32)
//   x[128h + l + 64] = d*sc[l/16 + 4] * ((ql[l]    >> 4 | ((qh[l] >> 4) & 3) << 4) - 32)
//   x[128h + l + 96] = d*sc[l/16 + 6] * ((ql[l+32] >> 4 | ((qh[l] >> 6) & 3) << 4) - 32)
typedef struct {
    uint8_t ql[VK_QK_K / 2];
    uint8_t qh[VK_QK_K / 4];
    int8_t scales[VK_QK_K / 16];
    uint16_t d;
} vk_block_q6_K;

// Q2_K: 16 sub-blocks of 16; scales[s] holds sub-block s's scale (low nibble) and min (high).
// For each 128-element half h, shift step c < 4 and l < 32, element 128h + 32c + l is
// (qs[32h + l] >> 2c) & 3; x = d*sc * q - dmin*mn.
typedef struct {
    uint8_t scales[VK_QK_K / 16];
    uint8_t qs[VK_QK_K / 4];
    uint16_t d;
    uint16_t dmin;
} vk_block_q2_K;

// Q3_K: 16 sub-blocks of 16 with signed 6-bit scales packed in `scales` (see vk_k3_scale);
// element 128h + 32c + l has low bits (qs[32h + l] >> 2c) & 3 and, when bit b of hmask[l] is
// clear for e = 32b + l, 4 subtracted; x = d * (sc - 32) * q.
typedef struct {
    uint8_t hmask[VK_QK_K / 8];
    uint8_t qs[VK_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} vk_block_q3_K;

// IQ4_NL: a block of 32 4-bit indices into the non-linear table vk_iq4nl_values, nibbles as
// Q4_0's; x = d * value.
typedef struct {
    uint16_t d;
    uint8_t qs[VK_QK / 2];
} vk_block_iq4_nl;

// IQ4_XS: 8 sub-blocks of 32 as IQ4_NL with 6-bit scales (low nibbles in scales_l, top two bits
// in scales_h, 2 per sub-block); x = d * (ls - 32) * value.
typedef struct {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[VK_QK_K / 64];
    uint8_t qs[VK_QK_K / 2];
} vk_block_iq4_xs;

// ggml's kvalues_iq4nl.
static const int8_t vk_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Q3_K's scale j (0..15) before the -32: low 4 bits in byte j % 8 (high nibble for j >= 8),
// top 2 bits in byte 8 + j % 4 at bit 2 (j / 4).
static inline int vk_k3_scale(const uint8_t *s, int j) {
    return ((s[j % 8] >> (4 * (j / 8))) & 15) | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
}

_Static_assert(sizeof(vk_block_q2_K) == 84, "block_q2_K size");
_Static_assert(sizeof(vk_block_q3_K) == 110, "block_q3_K size");
_Static_assert(sizeof(vk_block_iq4_nl) == 18, "block_iq4_nl size");
_Static_assert(sizeof(vk_block_iq4_xs) == 136, "block_iq4_xs size");
_Static_assert(sizeof(vk_block_q4_0) == 18, "block_q4_0 size");
_Static_assert(sizeof(vk_block_q4_1) == 20, "block_q4_1 size");
_Static_assert(sizeof(vk_block_q5_0) == 22, "block_q5_0 size");
_Static_assert(sizeof(vk_block_q5_1) == 24, "block_q5_1 size");
_Static_assert(sizeof(vk_block_q8_0) == 34, "block_q8_0 size");
_Static_assert(sizeof(vk_block_q4_K) == 144, "block_q4_K size");
_Static_assert(sizeof(vk_block_q5_K) == 176, "block_q5_K size");
_Static_assert(sizeof(vk_block_q6_K) == 210, "block_q6_K size");

// The 6-bit scale / min packing of Q4_K and Q5_K (ggml's get_scale_min_k4): sub-blocks 0..3 keep
// their scale in the low 6 bits of scales[j] and their min in the low 6 bits of scales[j+4];
// sub-blocks 4..7 keep the low 4 bits of scale and min in the two nibbles of scales[j+4] and the
// top 2 bits in the top bits of scales[j-4] (scale) and scales[j] (min).
static inline void vk_k4_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = (uint8_t)(s[j] & 63);
        *mn = (uint8_t)(s[j + 4] & 63);
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        *mn = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// All eight scales (out[0..8)) and mins (out[8..16)) of a Q4_K / Q5_K block at once: the same
// fields as vk_k4_scale_min, read four bytes at a time.
static inline void vk_k4_scales_mins(const uint8_t *s, uint8_t out[16]) {
    uint32_t u[3], r[4];
    memcpy(u, s, 12);
    const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    r[0] = u[0] & low6;
    r[1] = (u[2] & low4) | (((u[0] >> 6) & low2) << 4);
    r[2] = u[1] & low6;
    r[3] = ((u[2] >> 4) & low4) | (((u[1] >> 6) & low2) << 4);
    memcpy(out, r, 16);
}

#endif
