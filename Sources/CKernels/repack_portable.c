// Weights repacked at load (layout: repack_q8.c) in portable C: back to fp32 for the fp32 GEMM's
// panels, and the int8 kernel at level 0, which is also the scalar reference of the SIMD ones.
#include "internal.h"
#include "fp16.h"

// The unsigned weight of element e (< 32) of row r in a nibble block.
static inline int rp_nibble(const uint8_t *nib, int r, int e) {
    const uint8_t v = nib[32 * ((e % 16) / 4) + 4 * r + e % 4];
    return e < 16 ? v & 15 : v >> 4;
}

// The byte of element e of row r in a byte-row block.
static inline uint8_t rp_byte(const uint8_t *p, int r, int e) { return p[32 * (e / 4) + 4 * r + e % 4]; }

// Row r's values of the record at p into out[e * 16] for its E elements.
static void rp_record_values(int type, const uint8_t *p, int r, float *out) {
    const uint16_t *h = (const uint16_t *)p;
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: {
        const float d = vk_fp16_to_fp32(h[r]);
        const float c = type == VK_TYPE_Q4_0 ? -8.0f * d : vk_fp16_to_fp32(h[8 + r]);
        const uint8_t *nib = p + (type == VK_TYPE_Q4_0 ? 16 : 32);
        for (int e = 0; e < 32; e++) out[16 * e] = d * (float)rp_nibble(nib, r, e) + c;
        break;
    }
    case VK_TYPE_Q8_0: {
        const float d = vk_fp16_to_fp32(h[r]);
        for (int e = 0; e < 32; e++) out[16 * e] = d * (float)(int8_t)rp_byte(p + 16, r, e);
        break;
    }
    case VK_TYPE_Q4_K: {
        const float d = vk_fp16_to_fp32(h[r]), dmin = vk_fp16_to_fp32(h[8 + r]);
        for (int s = 0; s < 8; s++) {
            const float ds = d * (float)p[32 + 8 * s + r], c = dmin * (float)p[96 + 8 * s + r];
            for (int e = 0; e < 32; e++) out[16 * (32 * s + e)] = ds * (float)rp_nibble(p + 160 + 128 * s, r, e) - c;
        }
        break;
    }
    default: {  // Q6_K
        const float d = vk_fp16_to_fp32(h[r]);
        for (int g = 0; g < 16; g++) {
            const float ds = d * (float)(int8_t)p[16 + 8 * g + r];
            for (int e = 0; e < 16; e++) out[16 * (16 * g + e)] = ds * (float)((int)rp_byte(p + 144 + 128 * g, r, e) - 32);
        }
        break;
    }
    }
}

void vk_pack_panel_rp_portable(int type, const char *rp, int64_t pb, int64_t k, int64_t kb, int64_t kc, int64_t rows,
                      float *panel) {
    (void)k;
    const int64_t e = vk_rp_record_elems(type), rec = vk_rp_record_bytes(type);
    for (int64_t r = 0; r < 16; r++) {
        if (r >= rows) {
            for (int64_t j = 0; j < kc; j++) panel[16 * j + r] = 0.0f;
            continue;
        }
        const uint8_t *p = (const uint8_t *)rp + r / 8 * pb;
        for (int64_t t = kb / e; t < (kb + kc) / e; t++) rp_record_values(type, p + t * rec, (int)(r % 8), panel + 16 * (t * e - kb) + r);
    }
}

// The int8 kernel.

// Adds one group's contribution dx * (ds * isum + c * S) to f, in the order the SIMD kernels use.
static inline float rp_add(float f, float ds, float c, int32_t isum, float dx, int s) {
    f += ds * ((float)isum * dx);
    return f + c * (dx * (float)s);
}

// sum over 32 nibble elements of row r (nibble block at nib) times q[0..32).
static int32_t rp_nibble_dot(const uint8_t *nib, int r, const int8_t *q) {
    int32_t s = 0;
    for (int e = 0; e < 16; e++) {
        const uint8_t v = nib[32 * (e / 4) + 4 * r + e % 4];
        s += (v & 15) * q[e] + (v >> 4) * q[e + 16];
    }
    return s;
}

// Elements [0, n) of byte-row r (signed when `sgn`) times q.
static int32_t rp_byte_dot(const uint8_t *bytes, int r, const int8_t *q, int n, int sgn) {
    int32_t s = 0;
    for (int e = 0; e < n; e++) {
        const uint8_t v = bytes[32 * (e / 4) + 4 * r + e % 4];
        s += (sgn ? (int32_t)(int8_t)v : (int32_t)v) * q[e];
    }
    return s;
}

// One panel; vk_gemm_rp_portable runs it per panel.
static void gemm_rp_panel(int type, const void *q, int64_t m, const void *panel, int64_t k, float *y,
                          int64_t ldy, int64_t nc) {
    const int64_t qbytes = vk_act_q8_bytes(k), rec = vk_rp_record_bytes(type), e = vk_rp_record_elems(type);
    for (int64_t i = 0; i < m; i++) {
        const vk_act_q8 a = vk_act_q8_view((const char *)q + i * qbytes, k);
        for (int r = 0; r < nc; r++) {
            float f = 0.0f;
            for (int64_t t = 0; t < k / e; t++) {
                const uint8_t *p = (const uint8_t *)panel + t * rec;
                const uint16_t *h = (const uint16_t *)p;
                const int64_t x0 = t * e;  // first element of the record
                switch (type) {
                case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: {
                    const float d = vk_fp16_to_fp32(h[r]);
                    const float c = type == VK_TYPE_Q4_0 ? -8.0f * d : vk_fp16_to_fp32(h[8 + r]);
                    const int32_t isum = rp_nibble_dot(p + (type == VK_TYPE_Q4_0 ? 16 : 32), r, a.q + x0);
                    f = rp_add(f, d, c, isum, a.d[t], a.s[2 * t] + a.s[2 * t + 1]);
                    break;
                }
                case VK_TYPE_Q8_0:
                    f = rp_add(f, vk_fp16_to_fp32(h[r]), 0.0f, rp_byte_dot(p + 16, r, a.q + x0, 32, 1), a.d[t], 0);
                    break;
                case VK_TYPE_Q4_K: {
                    const float d = vk_fp16_to_fp32(h[r]), dmin = vk_fp16_to_fp32(h[8 + r]);
                    for (int s = 0; s < 8; s++) {
                        const int64_t b = x0 / 32 + s;
                        const int32_t isum = rp_nibble_dot(p + 160 + 128 * s, r, a.q + 32 * b);
                        f = rp_add(f, d * (float)p[32 + 8 * s + r], -dmin * (float)p[96 + 8 * s + r], isum,
                                   a.d[b], a.s[2 * b] + a.s[2 * b + 1]);
                    }
                    break;
                }
                default: {  // Q6_K
                    const float d = vk_fp16_to_fp32(h[r]);
                    for (int g = 0; g < 16; g++) {
                        const float ds = d * (float)(int8_t)p[16 + 8 * g + r];
                        const int64_t x = x0 + 16 * g;
                        const int32_t isum = rp_byte_dot(p + 144 + 128 * g, r, a.q + x, 16, 0);
                        f = rp_add(f, ds, -32.0f * ds, isum, a.d[x / 32], a.s[x / 16]);
                    }
                    break;
                }
                }
            }
            y[i * ldy + r] = f;
        }
    }
}

void vk_gemm_rp_portable(int type, const void *q, int64_t m, const void *panel, int64_t pb, int panels,
                         int64_t k, float *y, int64_t ldy, int64_t nc) {
    for (int p = 0; p < panels && 8 * p < nc; p++)
        gemm_rp_panel(type, q, m, (const char *)panel + p * pb, k, y + 8 * p, ldy, nc - 8 * p < 8 ? nc - 8 * p : 8);
}
