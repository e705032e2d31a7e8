// Quantized block layouts. These mirror ggml's `ggml-common.h` byte for byte (the GGUF tensor data
// format): the structs below must keep the same member order and sizes as block_q4_0, block_q4_1,
// block_q5_0, block_q5_1, block_q8_0, block_q2_K, block_q3_K, block_q4_K, block_q5_K, block_q6_K,
// block_q8_K, block_iq4_nl and block_iq4_xs there (QK_K = 256, K_SCALE_SIZE = 12).
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

// Q5_0 (block_q5_0): x = d * (q - 16), q = nibble | fifth bit << 4. Nibbles as Q4_0; element j
// (j < 32) takes bit j of the little-endian 32-bit word qh.
typedef struct {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[VK_QK / 2];
} vk_block_q5_0;

// Q5_1 (block_q5_1): x = d * q + m; bits as Q5_0.
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

// Q2_K (block_q2_K): 16 sub-blocks of 16; scales[s] holds sub-block s's 4-bit scale (low nibble)
// and 4-bit min (high nibble). Element e = 128n + 32j + l (n < 2, j < 4, l < 32) is bits 2j, 2j+1
// of qs[32n + l], in sub-block e / 16. x = (d*sc) * q - dmin*m.
typedef struct {
    uint8_t scales[VK_QK_K / 16];
    uint8_t qs[VK_QK_K / 4];
    uint16_t d;
    uint16_t dmin;
} vk_block_q2_K;

// Q3_K (block_q3_K): 16 sub-blocks of 16 with 6-bit scales biased by 32 (see vk_q3k_scales).
// Element e = 128n + 32j + l: low 2 bits as Q2_K (qs[32n + l] >> 2j), and 4 is subtracted unless
// bit 4n + j of hmask[l] is set: x = (d * (sc - 32)) * (low - (hbit ? 0 : 4)).
typedef struct {
    uint8_t hmask[VK_QK_K / 8];
    uint8_t qs[VK_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} vk_block_q3_K;

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

// Q8_K (block_q8_K, ggml's activation format, read here as a weight type): x = d * q with an
// fp32 d; bsums (the sums of q per 16) are not needed to dequantize.
typedef struct {
    float d;
    int8_t qs[VK_QK_K];
    int16_t bsums[VK_QK_K / 16];
} vk_block_q8_K;

// IQ4_NL (block_iq4_nl): x = d * vk_iq4nl_values[nibble]; nibble order as Q4_0.
typedef struct {
    uint16_t d;
    uint8_t qs[VK_QK / 2];
} vk_block_iq4_nl;

// IQ4_XS (block_iq4_xs): 8 sub-blocks of 32, each with a 6-bit scale ls biased by 32: the low 4
// bits in nibble s % 2 of scales_l[s / 2], the top 2 in bits 2s, 2s+1 of scales_h. Sub-block s
// has nibbles qs[16s .. 16s+16) in IQ4_NL order. x = (d * (ls - 32)) * vk_iq4nl_values[nibble].
typedef struct {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[VK_QK_K / 64];
    uint8_t qs[VK_QK_K / 2];
} vk_block_iq4_xs;

// MXFP4 (block_mxfp4; OCP Microscaling v1.0 MXFP4: 32 FP4 E2M1 values sharing one E8M0 scale):
// x = vk_e8m0_half(e) * vk_mxfp4_values[nibble]; nibble order as Q4_0.
typedef struct {
    uint8_t e;
    uint8_t qs[VK_QK / 2];
} vk_block_mxfp4;

// The 16 E2M1 values doubled (ggml's kvalues_mxfp4), so that they are integers; the scale is
// halved to match.
static const int8_t vk_mxfp4_values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Half the E8M0 scale 2^(e - 127), i.e. 2^(e - 128), as ggml_e8m0_to_fp32_half builds it
// (e < 2 lands in fp32's subnormals).
static inline float vk_e8m0_half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// ggml's kvalues_iq4nl: the 16 non-uniform levels of IQ4_NL / IQ4_XS.
static const int8_t vk_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                           1, 13, 25, 38, 53, 69, 89, 113};

// The same levels plus 128 (1 .. 241): unsigned bytes for the byte dot-product instructions.
static const uint8_t vk_iq4nl_biased[16] = {1, 24, 45, 63, 79, 93, 106, 118,
                                            129, 141, 153, 166, 181, 197, 217, 241};

// MXFP4's doubled values plus 128 (116 .. 140), as vk_iq4nl_biased.
static const uint8_t vk_mxfp4_biased[16] = {128, 129, 130, 131, 132, 134, 136, 140,
                                            128, 127, 126, 125, 124, 122, 120, 116};

_Static_assert(sizeof(vk_block_q5_0) == 22, "block_q5_0 size");
_Static_assert(sizeof(vk_block_q5_1) == 24, "block_q5_1 size");
_Static_assert(sizeof(vk_block_q2_K) == 84, "block_q2_K size");
_Static_assert(sizeof(vk_block_q3_K) == 110, "block_q3_K size");
_Static_assert(sizeof(vk_block_q8_K) == 292, "block_q8_K size");
_Static_assert(sizeof(vk_block_iq4_nl) == 18, "block_iq4_nl size");
_Static_assert(sizeof(vk_block_iq4_xs) == 136, "block_iq4_xs size");
_Static_assert(sizeof(vk_block_mxfp4) == 17, "block_mxfp4 size");
_Static_assert(sizeof(vk_block_q4_0) == 18, "block_q4_0 size");
_Static_assert(sizeof(vk_block_q4_1) == 20, "block_q4_1 size");
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

// Q3_K's sixteen 6-bit scales (unbiased: 0..63; the value uses sc - 32): the low 4 bits of
// scale s are nibble s / 8 of scales[s % 8], the top 2 are bits 2(s / 4), 2(s / 4)+1 of
// scales[8 + s % 4].
static inline void vk_q3k_scales(const uint8_t *s, uint8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        const int low = i < 8 ? (s[i] & 15) : (s[i - 8] >> 4);
        const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (uint8_t)(low | high << 4);
    }
}

// IQ4_XS's eight 6-bit scales (unbiased: 0..63; the value uses ls - 32).
static inline void vk_iq4xs_scales(const vk_block_iq4_xs *b, uint8_t out[8]) {
    for (int s = 0; s < 8; s++)
        out[s] = (uint8_t)(((b->scales_l[s / 2] >> (4 * (s % 2))) & 15) | ((b->scales_h >> (2 * s)) & 3) << 4);
}

#endif
