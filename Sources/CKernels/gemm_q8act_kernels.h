// The int8-activation GEMM of vk_matmul's VK_ACT_INT8 path for long batches: 8 weight rows at a
// time are repacked into an int8 panel that a byte dot-product instruction multiplies with 4
// bytes of one activation row broadcast to all lanes, so one instruction advances 8 weight rows
// by 4 elements and no horizontal sums are needed. Included once per instruction set, with
//   VK_Q8G_TARGET / VK_Q8G_INLINE  that set's target attribute (plain / always inlined),
//   VK_Q8G_DPBUSD(acc, u, s)       acc + the 4-byte dot products of u (unsigned) and s (signed)
//                                  in each int32 lane,
//   VK_Q8G_GEMM                    the name of the GEMM this file defines, and VK_Q8G_PACK that
//                                  of the panel packer, where it defines one (the packer needs
//                                  only AVX2, so one instance serves every level),
//   VK_Q8G_MR                      activation rows per kernel pass (4 or 8: 2 registers each).
//
// Panel layout (bytes, at the start of vk_matmul's scratch), for k elements and 8 rows:
//   u  [k/4][8][4]   the weights as unsigned integers: the 4 bytes of row r for elements
//                    4j..4j+3 at u + 32j + 4r;
//   ds [k/G][8]      fp32, then c [k/G][8] fp32: per group of G elements (32; Q6_K: 16) the row's
//                    weights are ds * u + c.
// With activations x = dx * q (act_q8.c, dx per 32 elements, sums S of q per 16), one group adds
// dx * (ds * sum(u q) + c * S) to each output.
#include "avx2_common.h"
#include "blocks.h"

// Elements per scale group of `type` in the panel.
static inline int64_t q8g_group(int type) { return type == VK_TYPE_Q6_K ? 16 : 32; }

#ifdef VK_Q8G_PACK
// 8x8 transpose of 32-bit lanes: r[i] lane j <-> r[j] lane i.
VK_Q8G_INLINE void q8g_transpose8(__m256i r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(_mm256_castsi256_ps(r[2 * i]), _mm256_castsi256_ps(r[2 * i + 1]));
        t[2 * i + 1] = _mm256_unpackhi_ps(_mm256_castsi256_ps(r[2 * i]), _mm256_castsi256_ps(r[2 * i + 1]));
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_castps_si256(_mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        r[i + 4] = _mm256_castps_si256(_mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}

// Elements [32t, 32t + 32) of one stored row as unsigned bytes in element order, and the
// (ds, c) of the one (G = 32) or two (Q6_K) groups they span.
VK_Q8G_INLINE __m256i q8g_chunk(int type, const char *row, int64_t t, float *ds, float *c) {
    const __m256i m15 = _mm256_set1_epi8(15);
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: {
        const uint8_t *qs = type == VK_TYPE_Q4_0 ? ((const vk_block_q4_0 *)row)[t].qs : ((const vk_block_q4_1 *)row)[t].qs;
        const __m128i v = _mm_loadu_si128((const __m128i *)qs);
        if (type == VK_TYPE_Q4_0) {
            ds[0] = vk_f16c_load(&((const vk_block_q4_0 *)row)[t].d);
            c[0] = -8.0f * ds[0];
        } else {
            ds[0] = vk_f16c_load(&((const vk_block_q4_1 *)row)[t].d);
            c[0] = vk_f16c_load(&((const vk_block_q4_1 *)row)[t].m);
        }
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), m15);
    }
    case VK_TYPE_Q8_0: {
        // w + 128 as unsigned: up to 255, so only for instruction sets whose byte products do not
        // saturate (vpdpbusd).
        const vk_block_q8_0 *b = (const vk_block_q8_0 *)row + t;
        ds[0] = vk_f16c_load(&b->d);
        c[0] = -128.0f * ds[0];
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), _mm256_set1_epi8((char)0x80));
    }
    case VK_TYPE_Q4_K: {
        const vk_block_q4_K *b = (const vk_block_q4_K *)row + t / 8;
        const int s = (int)(t % 8);
        uint8_t sc, mn;
        vk_k4_scale_min(s, b->scales, &sc, &mn);
        ds[0] = vk_f16c_load(&b->d) * (float)sc;
        c[0] = -vk_f16c_load(&b->dmin) * (float)mn;
        const __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * (s / 2)));
        return _mm256_and_si256(s % 2 ? _mm256_srli_epi16(v, 4) : v, m15);
    }
    default: {  // Q6_K: see the element map in blocks.h; chunk u = t % 8 is q[u] of dot_q8act.
        const vk_block_q6_K *b = (const vk_block_q6_K *)row + t / 8;
        const int u = (int)(t % 8), h = u / 4, v = u % 4;
        const float d = vk_f16c_load(&b->d);
        for (int g = 0; g < 2; g++) {
            ds[g] = d * (float)b->scales[2 * u + g];
            c[g] = -32.0f * ds[g];
        }
        __m256i lo = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (v & 1)));
        if (v >= 2) lo = _mm256_srli_epi16(lo, 4);
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
        const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * v)), _mm256_set1_epi8(3));
        return _mm256_or_si256(_mm256_and_si256(lo, m15), _mm256_slli_epi16(hi, 4));
    }
    }
}

// Repacks `rows` (<= 8; missing rows are zero) rows of k elements, rowbytes apart, into the panel.
VK_Q8G_TARGET void VK_Q8G_PACK(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                               void *panel) {
    const int64_t g = q8g_group(type), per = 32 / g, ngroups = k / g;
    uint8_t *u = (uint8_t *)panel;
    float *ds = (float *)(u + 8 * k), *c = ds + 8 * ngroups;
    for (int64_t t = 0; t < k / 32; t++) {
        __m256i r[8];
        for (int64_t row = 0; row < 8; row++) {
            float d2[2] = {0, 0}, c2[2] = {0, 0};
            r[row] = row < rows ? q8g_chunk(type, w + row * rowbytes, t, d2, c2) : _mm256_setzero_si256();
            for (int64_t j = 0; j < per; j++) {
                ds[(t * per + j) * 8 + row] = d2[j];
                c[(t * per + j) * 8 + row] = c2[j];
            }
        }
        q8g_transpose8(r);
        for (int j = 0; j < 8; j++) _mm256_storeu_si256((__m256i *)(u + 256 * t + 32 * j), r[j]);
    }
}
#endif

// y[i * ldy + c] for i < mr activation rows a[0..mr), c < nc <= 8 panel rows; G elements per group.
VK_Q8G_INLINE void q8g_kernel(const vk_act_q8 *a, int mr, const void *panel, int64_t k, int64_t g,
                              float *y, int64_t ldy, int64_t nc) {
    const uint8_t *u = (const uint8_t *)panel;
    const float *ds = (const float *)(u + 8 * k), *c = ds + 8 * (k / g);
    __m256 f[VK_Q8G_MR];
    for (int i = 0; i < mr; i++) f[i] = _mm256_setzero_ps();
    for (int64_t grp = 0; grp < k / g; grp++) {
        __m256i acc[VK_Q8G_MR];
        for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_si256();
        for (int64_t j = grp * g / 4; j < (grp + 1) * g / 4; j++) {
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(u + 32 * j));
            for (int i = 0; i < mr; i++) {
                int32_t x4;
                memcpy(&x4, a[i].q + 4 * j, 4);
                acc[i] = VK_Q8G_DPBUSD(acc[i], wv, _mm256_set1_epi32(x4));
            }
        }
        const __m256 dsv = _mm256_loadu_ps(ds + 8 * grp), cv = _mm256_loadu_ps(c + 8 * grp);
        const int64_t blk = grp * g / 32;
        for (int i = 0; i < mr; i++) {
            const float dx = a[i].d[blk];
            const int s = g == 32 ? a[i].s[2 * grp] + a[i].s[2 * grp + 1] : a[i].s[grp];
            f[i] = _mm256_fmadd_ps(dsv, _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_set1_ps(dx)), f[i]);
            f[i] = _mm256_fmadd_ps(cv, _mm256_set1_ps(dx * (float)s), f[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        if (nc == 8) {
            _mm256_storeu_ps(y + i * ldy, f[i]);
        } else {
            float t[8];
            _mm256_storeu_ps(t, f[i]);
            for (int64_t j = 0; j < nc; j++) y[i * ldy + j] = t[j];
        }
    }
}

// Instances per row count and group size so the loops unroll.
#define VK_Q8G_INST(MR, G)                                                                         \
    VK_Q8G_TARGET __attribute__((noinline)) static void q8g_##MR##_##G(                            \
        const vk_act_q8 *a, const void *panel, int64_t k, float *y, int64_t ldy, int64_t nc) {    \
        q8g_kernel(a, MR, panel, k, G, y, ldy, nc);                                                \
    }
#define VK_Q8G_INST_G(MR) VK_Q8G_INST(MR, 32) VK_Q8G_INST(MR, 16)
VK_Q8G_INST_G(1) VK_Q8G_INST_G(2) VK_Q8G_INST_G(3) VK_Q8G_INST_G(4)
typedef void (*vk_q8g_fn)(const vk_act_q8 *a, const void *panel, int64_t k, float *y, int64_t ldy, int64_t nc);
#if VK_Q8G_MR == 8
VK_Q8G_INST_G(5) VK_Q8G_INST_G(6) VK_Q8G_INST_G(7) VK_Q8G_INST_G(8)
static const vk_q8g_fn q8g_fns32[8] = {q8g_1_32, q8g_2_32, q8g_3_32, q8g_4_32, q8g_5_32, q8g_6_32, q8g_7_32, q8g_8_32};
static const vk_q8g_fn q8g_fns16[8] = {q8g_1_16, q8g_2_16, q8g_3_16, q8g_4_16, q8g_5_16, q8g_6_16, q8g_7_16, q8g_8_16};
#else
static const vk_q8g_fn q8g_fns32[4] = {q8g_1_32, q8g_2_32, q8g_3_32, q8g_4_32};
static const vk_q8g_fn q8g_fns16[4] = {q8g_1_16, q8g_2_16, q8g_3_16, q8g_4_16};
#endif

// y[i * ldy + c] = dot(panel row c, activation row i) for i < m, c < nc; activation row i
// quantized (act_q8.c) at q + i * vk_act_q8_bytes(k).
VK_Q8G_TARGET void VK_Q8G_GEMM(int type, const void *q, int64_t m, const void *panel, int64_t k,
                               float *y, int64_t ldy, int64_t nc) {
    const vk_q8g_fn *fns = q8g_group(type) == 16 ? q8g_fns16 : q8g_fns32;
    const int64_t qbytes = vk_act_q8_bytes(k);
    for (int64_t i = 0; i < m; i += VK_Q8G_MR) {
        const int64_t mr = m - i < VK_Q8G_MR ? m - i : VK_Q8G_MR;
        vk_act_q8 a[VK_Q8G_MR];
        for (int64_t j = 0; j < mr; j++) a[j] = vk_act_q8_view((const char *)q + (i + j) * qbytes, k);
        fns[mr - 1](a, panel, k, y + i * ldy, ldy, nc);
    }
}
