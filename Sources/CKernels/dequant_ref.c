// Scalar reference dequantization, written from ggml's dequantize_row_* definitions
// (ggml-quants.c). Each value is computed with the same float operations in the same order as
// ggml's scalar code (e.g. Q4_K: (d*sc)*q - dmin*m, each step rounded to float), so the result
// is "the value ggml defines". Contraction into FMA is switched off to keep that exact.
#include <string.h>

#include "blocks.h"
#include "fp16.h"
#include "internal.h"

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

static void deq_q4_0(const vk_block_q4_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        for (int j = 0; j < VK_QK / 2; j++) {
            const int x0 = (b[i].qs[j] & 0x0F) - 8;
            const int x1 = (b[i].qs[j] >> 4) - 8;
            y[j] = (float)x0 * d;
            y[j + VK_QK / 2] = (float)x1 * d;
        }
    }
}

static void deq_q4_1(const vk_block_q4_1 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        const float m = vk_load_fp16(&b[i].m);
        for (int j = 0; j < VK_QK / 2; j++) {
            const float x0 = (float)(b[i].qs[j] & 0x0F);
            const float x1 = (float)(b[i].qs[j] >> 4);
            const float p0 = x0 * d;
            const float p1 = x1 * d;
            y[j] = p0 + m;
            y[j + VK_QK / 2] = p1 + m;
        }
    }
}

// The fifth bit of element j (< 32) of a Q5_0 / Q5_1 block, worth 16.
static inline int q5_high(const uint8_t qh[4], int j) {
    uint32_t h;
    memcpy(&h, qh, 4);
    return (int)((h >> j) & 1u) << 4;
}

static void deq_q5_0(const vk_block_q5_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        for (int j = 0; j < VK_QK / 2; j++) {
            const int x0 = ((b[i].qs[j] & 0x0F) | q5_high(b[i].qh, j)) - 16;
            const int x1 = ((b[i].qs[j] >> 4) | q5_high(b[i].qh, j + 16)) - 16;
            y[j] = (float)x0 * d;
            y[j + VK_QK / 2] = (float)x1 * d;
        }
    }
}

static void deq_q5_1(const vk_block_q5_1 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        const float m = vk_load_fp16(&b[i].m);
        for (int j = 0; j < VK_QK / 2; j++) {
            const float x0 = (float)((b[i].qs[j] & 0x0F) | q5_high(b[i].qh, j));
            const float x1 = (float)((b[i].qs[j] >> 4) | q5_high(b[i].qh, j + 16));
            const float p0 = x0 * d;
            const float p1 = x1 * d;
            y[j] = p0 + m;
            y[j + VK_QK / 2] = p1 + m;
        }
    }
}

static void deq_iq4_nl(const vk_block_iq4_nl *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        for (int j = 0; j < VK_QK / 2; j++) {
            y[j] = d * (float)vk_iq4nl_values[b[i].qs[j] & 0x0F];
            y[j + VK_QK / 2] = d * (float)vk_iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

static void deq_mxfp4(const vk_block_mxfp4 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_e8m0_half(b[i].e);
        for (int j = 0; j < VK_QK / 2; j++) {
            y[j] = d * (float)vk_mxfp4_values[b[i].qs[j] & 0x0F];
            y[j + VK_QK / 2] = d * (float)vk_mxfp4_values[b[i].qs[j] >> 4];
        }
    }
}

static void deq_q8_0(const vk_block_q8_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const float d = vk_load_fp16(&b[i].d);
        for (int j = 0; j < VK_QK; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

static void deq_q2_K(const vk_block_q2_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        const float dmin = vk_load_fp16(&b[i].dmin);
        for (int e = 0; e < VK_QK_K; e++) {
            const int n = e / 128, j = (e % 128) / 32, l = e % 32;
            const uint8_t sc = b[i].scales[e / 16];
            const float dl = d * (float)(sc & 0x0F), ml = dmin * (float)(sc >> 4);
            const int q = (b[i].qs[32 * n + l] >> (2 * j)) & 3;
            const float p = dl * (float)q;
            *y++ = p - ml;
        }
    }
}

static void deq_q3_K(const vk_block_q3_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        uint8_t sc[16];
        vk_q3k_scales(b[i].scales, sc);
        for (int e = 0; e < VK_QK_K; e++) {
            const int n = e / 128, j = (e % 128) / 32, l = e % 32;
            const float dl = d * (float)(sc[e / 16] - 32);
            const int low = (b[i].qs[32 * n + l] >> (2 * j)) & 3;
            const int q = low - ((b[i].hmask[l] >> (4 * n + j)) & 1 ? 0 : 4);
            *y++ = dl * (float)q;
        }
    }
}

static void deq_q8_K(const vk_block_q8_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK_K) {
        float d;
        memcpy(&d, &b[i].d, sizeof d);
        for (int j = 0; j < VK_QK_K; j++) y[j] = d * (float)b[i].qs[j];
    }
}

static void deq_iq4_xs(const vk_block_iq4_xs *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        uint8_t ls[8];
        vk_iq4xs_scales(&b[i], ls);
        const uint8_t *qs = b[i].qs;
        for (int s = 0; s < 8; s++, y += 32, qs += 16) {
            const float dl = d * (float)(ls[s] - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)vk_iq4nl_values[qs[j] & 0x0F];
                y[j + 16] = dl * (float)vk_iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

static void deq_q4_K(const vk_block_q4_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        const float dmin = vk_load_fp16(&b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 4; j++, q += 32) {
            uint8_t sc, mn;
            vk_k4_scale_min(2 * j, b[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            vk_k4_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) {
                const float p = d1 * (float)(q[l] & 0x0F);
                *y++ = p - m1;
            }
            for (int l = 0; l < 32; l++) {
                const float p = d2 * (float)(q[l] >> 4);
                *y++ = p - m2;
            }
        }
    }
}

static void deq_q5_K(const vk_block_q5_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        const float dmin = vk_load_fp16(&b[i].dmin);
        const uint8_t *ql = b[i].qs;
        const uint8_t *qh = b[i].qh;
        for (int j = 0; j < 4; j++, ql += 32) {
            uint8_t sc, mn;
            vk_k4_scale_min(2 * j, b[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            vk_k4_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            const uint8_t u1 = (uint8_t)(1u << (2 * j)), u2 = (uint8_t)(2u << (2 * j));
            for (int l = 0; l < 32; l++) {
                const int q = (ql[l] & 0x0F) + ((qh[l] & u1) ? 16 : 0);
                const float p = d1 * (float)q;
                *y++ = p - m1;
            }
            for (int l = 0; l < 32; l++) {
                const int q = (ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0);
                const float p = d2 * (float)q;
                *y++ = p - m2;
            }
        }
    }
}

static void deq_q6_K(const vk_block_q6_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_load_fp16(&b[i].d);
        const uint8_t *ql = b[i].ql;
        const uint8_t *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                const float s1 = d * (float)sc[is + 0], s2 = d * (float)sc[is + 2];
                const float s3 = d * (float)sc[is + 4], s4 = d * (float)sc[is + 6];
                y[l + 0] = s1 * (float)q1;
                y[l + 32] = s2 * (float)q2;
                y[l + 64] = s3 * (float)q3;
                y[l + 96] = s4 * (float)q4;
            }
        }
    }
}

void vk_dequantize_row_ref(int type, const void *src, float *dst, int64_t n) {
    const int64_t be = vk_type_block_elems(type);
    if (be == 0 || n <= 0) return;
    const int64_t nb = n / be;
    switch (type) {
    case VK_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case VK_TYPE_F16: {
        const uint16_t *h = (const uint16_t *)src;
        for (int64_t i = 0; i < n; i++) dst[i] = vk_fp16_to_fp32(h[i]);
        break;
    }
    case VK_TYPE_BF16: {
        const uint16_t *h = (const uint16_t *)src;
        for (int64_t i = 0; i < n; i++) dst[i] = vk_bf16_to_fp32(h[i]);
        break;
    }
    case VK_TYPE_Q4_0: deq_q4_0((const vk_block_q4_0 *)src, dst, nb); break;
    case VK_TYPE_Q4_1: deq_q4_1((const vk_block_q4_1 *)src, dst, nb); break;
    case VK_TYPE_Q5_0: deq_q5_0((const vk_block_q5_0 *)src, dst, nb); break;
    case VK_TYPE_Q5_1: deq_q5_1((const vk_block_q5_1 *)src, dst, nb); break;
    case VK_TYPE_Q8_0: deq_q8_0((const vk_block_q8_0 *)src, dst, nb); break;
    case VK_TYPE_Q2_K: deq_q2_K((const vk_block_q2_K *)src, dst, nb); break;
    case VK_TYPE_Q3_K: deq_q3_K((const vk_block_q3_K *)src, dst, nb); break;
    case VK_TYPE_Q4_K: deq_q4_K((const vk_block_q4_K *)src, dst, nb); break;
    case VK_TYPE_Q5_K: deq_q5_K((const vk_block_q5_K *)src, dst, nb); break;
    case VK_TYPE_Q6_K: deq_q6_K((const vk_block_q6_K *)src, dst, nb); break;
    case VK_TYPE_Q8_K: deq_q8_K((const vk_block_q8_K *)src, dst, nb); break;
    case VK_TYPE_IQ4_NL: deq_iq4_nl((const vk_block_iq4_nl *)src, dst, nb); break;
    case VK_TYPE_MXFP4: deq_mxfp4((const vk_block_mxfp4 *)src, dst, nb); break;
    case VK_TYPE_IQ4_XS: deq_iq4_xs((const vk_block_iq4_xs *)src, dst, nb); break;
    default: break;
    }
}

// The portable path dequantizes with the reference code.
void vk_dequantize_row_portable(int type, const void *src, float *dst, int64_t n) {
    vk_dequantize_row_ref(type, src, dst, n);
}
