// Weights repacked at load (layout: repack_q8.c) in portable C: back to fp32 for the fp32 GEMM's
// panels, and the int8 kernel at level 0, which is also the scalar reference of the SIMD ones.
#include "internal.h"
#include "fp16.h"
#include "blocks.h"

// How a group's integers are stored: 32 elements as nibbles; the same plus a vector of fifth
// bits (Q5_0, Q5_1, Q5_K); nibbles that index IQ4_NL's levels (IQ4_NL, IQ4_XS); Q8_0's signed byte rows; Q6_K's 16-element sub-block as one half of 32
// nibble elements plus a vector of top bits.
enum { RP_NIBBLES, RP_FIVE, RP_LEVELS, RP_BYTES, RP_SIX };

// Group g of row r in the record at p (32 elements; Q6_K's 16): where its integers lie and what
// they stand for, value = ds * integer + c.
typedef struct {
    const uint8_t *w;  // the group's block
    int form, half, n;
    float ds, c;
    const int8_t *levels;  // RP_LEVELS: the values the nibbles index
} rp_group;

static int rp_groups_per_record(int type) {
    return type == VK_TYPE_Q4_K || type == VK_TYPE_Q5_K || type == VK_TYPE_IQ4_XS ? 8 : type == VK_TYPE_Q6_K ? 16 : 1;
}

static rp_group rp_group_at(int type, const uint8_t *p, int r, int g) {
    const uint16_t *h = (const uint16_t *)p;
    const float d = vk_fp16_to_fp32(h[r]);
    switch (type) {
    case VK_TYPE_Q4_0: return (rp_group){p + 16, RP_NIBBLES, 0, 32, d, -8.0f * d};
    case VK_TYPE_Q4_1: return (rp_group){p + 32, RP_NIBBLES, 0, 32, d, vk_fp16_to_fp32(h[8 + r])};
    case VK_TYPE_Q5_0: return (rp_group){p + 16, RP_FIVE, 0, 32, d, -16.0f * d};
    case VK_TYPE_Q5_1: return (rp_group){p + 32, RP_FIVE, 0, 32, d, vk_fp16_to_fp32(h[8 + r])};
    case VK_TYPE_Q8_0: return (rp_group){p + 16, RP_BYTES, 0, 32, d, 0.0f};
    case VK_TYPE_IQ4_NL: return (rp_group){p + 16, RP_LEVELS, 0, 32, d, 0.0f, vk_iq4nl_values};
    case VK_TYPE_IQ4_XS:
        return (rp_group){p + 80 + 128 * g, RP_LEVELS, 0, 32, d * (float)(int8_t)p[16 + 8 * g + r], 0.0f, vk_iq4nl_values};
    case VK_TYPE_MXFP4: return (rp_group){p + 8, RP_LEVELS, 0, 32, vk_e8m0_half(p[r]), 0.0f, vk_mxfp4_values};
    case VK_TYPE_Q4_K: case VK_TYPE_Q5_K: {
        const int five = type == VK_TYPE_Q5_K;
        return (rp_group){p + 160 + (five ? 160 : 128) * g, five ? RP_FIVE : RP_NIBBLES, 0, 32,
                          d * (float)p[32 + 8 * g + r], -vk_fp16_to_fp32(h[8 + r]) * (float)p[96 + 8 * g + r]};
    }
    default: {  // Q6_K
        const float ds = d * (float)(int8_t)p[16 + 8 * g + r];
        return (rp_group){p + 144 + 192 * (g / 2), RP_SIX, g % 2, 16, ds, -32.0f * ds};
    }
    }
}

// The integer of element e of row r in group g.
static inline int rp_int(const rp_group *g, int r, int e) {
    const int at = 4 * r + e % 4;
    switch (g->form) {
    case RP_NIBBLES: case RP_FIVE: case RP_LEVELS: {
        const uint8_t v = g->w[32 * ((e % 16) / 4) + at];
        const int low = e < 16 ? v & 15 : v >> 4;
        if (g->form == RP_NIBBLES) return low;
        if (g->form == RP_LEVELS) return g->levels[low];
        const int bit = e < 16 ? (e % 16) / 4 : 4 + (e % 16) / 4;
        return low | ((g->w[128 + at] >> bit) & 1) << 4;
    }
    case RP_BYTES: return (int8_t)g->w[32 * (e / 4) + at];
    default: {
        const int low = (g->w[32 * (e / 4) + at] >> 4 * g->half) & 15;
        return low | ((g->w[128 + 32 * g->half + at] >> 2 * (e / 4)) & 3) << 4;
    }
    }
}

// Row r's integers of group g times q[0 .. n).
static int32_t rp_group_dot(const rp_group *g, int r, const int8_t *q) {
    int32_t s = 0;
    for (int e = 0; e < g->n; e++) s += rp_int(g, r, e) * q[e];
    return s;
}

void vk_pack_panel_rp_portable(int type, const char *rp, int64_t pb, int64_t kb, int64_t kc, int64_t rows,
                               float *panel) {
    const int64_t e = vk_rp_record_elems(type), rec = vk_rp_record_bytes(type);
    for (int64_t r = 0; r < 16; r++) {
        if (r >= rows) {
            for (int64_t j = 0; j < kc; j++) panel[16 * j + r] = 0.0f;
            continue;
        }
        const uint8_t *p = (const uint8_t *)rp + r / 8 * pb;
        for (int64_t t = kb / e; t < (kb + kc) / e; t++) {
            float *out = panel + 16 * (t * e - kb) + r;
            for (int g = 0; g < rp_groups_per_record(type); g++) {
                const rp_group grp = rp_group_at(type, p + t * rec, (int)(r % 8), g);
                for (int j = 0; j < grp.n; j++) out[16 * (g * grp.n + j)] = grp.ds * (float)rp_int(&grp, (int)(r % 8), j) + grp.c;
            }
        }
    }
}

// The int8 kernel: per group dx * (ds * isum + c * S), in the order the SIMD kernels use, with
// S the activation's q sum over the group; an activation row's terms summed smallest first.
void vk_gemm_rp_portable(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                         int64_t rows, int64_t k, float *y, int64_t ldy) {
    (void)panels;
    const int64_t qbytes = vk_act_q8_bytes(k), rec = vk_rp_record_bytes(type), e = vk_rp_record_elems(type);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t row = 0; row < rows; row++) {
            const uint8_t *panel = (const uint8_t *)rp + row / 8 * pb;
            const int r = (int)(row % 8);
            float sum = 0.0f;
            for (int j = terms - 1; j >= 0; j--) {
                const vk_act_q8 a = vk_act_q8_view((const char *)q + (i * terms + j) * qbytes, k);
                float f = 0.0f;
                for (int64_t t = 0; t < k / e; t++) {
                    for (int g = 0; g < rp_groups_per_record(type); g++) {
                        const rp_group grp = rp_group_at(type, panel + t * rec, r, g);
                        const int64_t x = t * e + g * grp.n;  // the group's first element
                        const int32_t isum = rp_group_dot(&grp, r, a.q + x);
                        const int s = grp.n == 32 ? a.s[x / 16] + a.s[x / 16 + 1] : a.s[x / 16];
                        const float dx = a.d[x / 32];
                        f += grp.ds * ((float)isum * dx);
                        f += grp.c * (dx * (float)s);
                    }
                }
                sum += f;
            }
            y[i * ldy + row] = sum;
        }
    }
}
