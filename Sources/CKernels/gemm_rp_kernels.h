// The int8-activation kernel over weights repacked at load (repack_q8.c has the layout): one
// 8-row panel times 1..MR activation rows quantized by act_q8.c. Each 32-byte load of the panel
// holds 4 elements of all 8 rows (two such steps for nibbles), which one byte dot-product
// instruction multiplies with 4 activation bytes broadcast to every lane: the 8 int32 lanes are
// the 8 rows' partial sums, so no horizontal sums; per group the integer sums are scaled once in
// fp32 as dx * (ds * isum + c * S). Included once per instruction set, with
//   VK_RP_TARGET / VK_RP_INLINE  that set's target attribute (plain / always inlined),
//   VK_RP_DPBUSD(acc, u, s)      acc + the 4-byte dot products of u (unsigned) and s (signed)
//                                in each int32 lane,
//   VK_RP_Q8                     1 where unsigned bytes up to 255 do not saturate (Q8_0),
//   VK_RP_GEMM                   the name of the entry point this file defines,
//   VK_RP_MR                     activation rows per pass (4 or 8).
#include "avx2_common.h"

VK_RP_INLINE __m256i rp_bcast4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm256_set1_epi32(v);
}

VK_RP_INLINE __m256 rp_f16x8(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
VK_RP_INLINE __m256 rp_u8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
VK_RP_INLINE __m256 rp_i8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

// acc[i] = the 8 rows' integer dots of 32 nibble elements with activation bytes q[i] + x.
VK_RP_INLINE void rp_nibbles(const uint8_t *nib, const vk_act_q8 *a, int mr, int64_t x, __m256i *acc) {
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(nib + 32 * c));
        const __m256i lo = _mm256_and_si256(v, m15), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m15);
        for (int i = 0; i < mr; i++) {
            acc[i] = VK_RP_DPBUSD(acc[i], lo, rp_bcast4(a[i].q + x + 4 * c));
            acc[i] = VK_RP_DPBUSD(acc[i], hi, rp_bcast4(a[i].q + x + 16 + 4 * c));
        }
    }
}

// acc[i] = the integer dots of `steps` x 4 byte elements (unsigned, or signed made unsigned by
// flipping the top bit when `flip`) with activation bytes q[i] + x.
VK_RP_INLINE void rp_bytes(const uint8_t *p, int steps, int flip, const vk_act_q8 *a, int mr, int64_t x,
                           __m256i *acc) {
    for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_si256();
    for (int c = 0; c < steps; c++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * c));
        if (flip) v = _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
        for (int i = 0; i < mr; i++) acc[i] = VK_RP_DPBUSD(acc[i], v, rp_bcast4(a[i].q + x + 4 * c));
    }
}

// f[i] += dx * (ds * isum + c * S) for the group of activation block `blk` whose q sum is S.
VK_RP_INLINE void rp_scale(__m256 *f, const __m256i *acc, const vk_act_q8 *a, int mr, __m256 ds, __m256 c,
                           int64_t blk, int64_t half) {
    for (int i = 0; i < mr; i++) {
        const float dx = a[i].d[blk];
        const int s = half < 0 ? a[i].s[2 * blk] + a[i].s[2 * blk + 1] : a[i].s[2 * blk + half];
        f[i] = _mm256_fmadd_ps(ds, _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_set1_ps(dx)), f[i]);
        f[i] = _mm256_fmadd_ps(c, _mm256_set1_ps(dx * (float)s), f[i]);
    }
}

VK_RP_INLINE void rp_kernel(int type, const vk_act_q8 *a, int mr, const uint8_t *p, int64_t k, float *y,
                            int64_t ldy, int64_t nc) {
    __m256 f[VK_RP_MR];
    __m256i acc[VK_RP_MR];
    for (int i = 0; i < mr; i++) f[i] = _mm256_setzero_ps();
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1:
        for (int64_t t = 0; t < k / 32; t++) {
            const __m256 d = rp_f16x8(p);
            const __m256 c = type == VK_TYPE_Q4_0 ? _mm256_mul_ps(d, _mm256_set1_ps(-8.0f)) : rp_f16x8(p + 16);
            p += type == VK_TYPE_Q4_0 ? 16 : 32;
            rp_nibbles(p, a, mr, 32 * t, acc);
            rp_scale(f, acc, a, mr, d, c, t, -1);
            p += 128;
        }
        break;
#if VK_RP_Q8
    case VK_TYPE_Q8_0:
        for (int64_t t = 0; t < k / 32; t++) {
            const __m256 d = rp_f16x8(p);
            rp_bytes(p + 16, 8, 1, a, mr, 32 * t, acc);
            rp_scale(f, acc, a, mr, d, _mm256_mul_ps(d, _mm256_set1_ps(-128.0f)), t, -1);
            p += 16 + 256;
        }
        break;
#endif
    case VK_TYPE_Q4_K:
        for (int64_t t = 0; t < k / 256; t++) {
            const __m256 d = rp_f16x8(p), dmin = rp_f16x8(p + 16);
            for (int s = 0; s < 8; s++) {
                const __m256 ds = _mm256_mul_ps(d, rp_u8x8(p + 32 + 8 * s));
                const __m256 c = _mm256_mul_ps(dmin, _mm256_sub_ps(_mm256_setzero_ps(), rp_u8x8(p + 96 + 8 * s)));
                rp_nibbles(p + 160 + 128 * s, a, mr, 256 * t + 32 * s, acc);
                rp_scale(f, acc, a, mr, ds, c, 8 * t + s, -1);
            }
            p += 160 + 8 * 128;
        }
        break;
    default:  // Q6_K
        for (int64_t t = 0; t < k / 256; t++) {
            const __m256 d = rp_f16x8(p);
            for (int g = 0; g < 16; g++) {
                const __m256 ds = _mm256_mul_ps(d, rp_i8x8(p + 16 + 8 * g));
                rp_bytes(p + 144 + 128 * g, 4, 0, a, mr, 256 * t + 16 * g, acc);
                rp_scale(f, acc, a, mr, ds, _mm256_mul_ps(ds, _mm256_set1_ps(-32.0f)), 8 * t + g / 2, g % 2);
            }
            p += 144 + 2048;
        }
        break;
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

// One instance per type and row count so the loops unroll and the type switch folds away.
#define VK_RP_INST(T, MR)                                                                          \
    VK_RP_TARGET __attribute__((noinline)) static void rp_##T##_##MR(                              \
        const vk_act_q8 *a, const void *panel, int64_t k, float *y, int64_t ldy, int64_t nc) {    \
        rp_kernel(VK_TYPE_##T, a, MR, (const uint8_t *)panel, k, y, ldy, nc);                      \
    }
#define VK_RP_INST4(T) VK_RP_INST(T, 1) VK_RP_INST(T, 2) VK_RP_INST(T, 3) VK_RP_INST(T, 4)
#define VK_RP_INST8(T) VK_RP_INST4(T) VK_RP_INST(T, 5) VK_RP_INST(T, 6) VK_RP_INST(T, 7) VK_RP_INST(T, 8)
#if VK_RP_MR == 8
#define VK_RP_TYPE(T) VK_RP_INST8(T) static const vk_rp_fn rp_fns_##T[8] = {rp_##T##_1, rp_##T##_2, rp_##T##_3, rp_##T##_4, rp_##T##_5, rp_##T##_6, rp_##T##_7, rp_##T##_8};
#else
#define VK_RP_TYPE(T) VK_RP_INST4(T) static const vk_rp_fn rp_fns_##T[4] = {rp_##T##_1, rp_##T##_2, rp_##T##_3, rp_##T##_4};
#endif
typedef void (*vk_rp_fn)(const vk_act_q8 *a, const void *panel, int64_t k, float *y, int64_t ldy, int64_t nc);
VK_RP_TYPE(Q4_0)
VK_RP_TYPE(Q4_1)
VK_RP_TYPE(Q4_K)
VK_RP_TYPE(Q6_K)
#if VK_RP_Q8
VK_RP_TYPE(Q8_0)
#endif

// y[i * ldy + c] = dot(panel row c, activation row i) for i < m, c < nc <= 8; activation row i
// quantized (act_q8.c) at q + i * vk_act_q8_bytes(k).
VK_RP_TARGET void VK_RP_GEMM(int type, const void *q, int64_t m, const void *panel, int64_t k, float *y,
                             int64_t ldy, int64_t nc) {
    const vk_rp_fn *fns = type == VK_TYPE_Q4_0 ? rp_fns_Q4_0 : type == VK_TYPE_Q4_1 ? rp_fns_Q4_1
                        : type == VK_TYPE_Q4_K ? rp_fns_Q4_K :
#if VK_RP_Q8
                          type == VK_TYPE_Q8_0 ? rp_fns_Q8_0 :
#endif
                          rp_fns_Q6_K;
    const int64_t qbytes = vk_act_q8_bytes(k);
    for (int64_t i = 0; i < m; i += VK_RP_MR) {
        const int64_t mr = m - i < VK_RP_MR ? m - i : VK_RP_MR;
        vk_act_q8 a[VK_RP_MR];
        for (int64_t j = 0; j < mr; j++) a[j] = vk_act_q8_view((const char *)q + (i + j) * qbytes, k);
        fns[mr - 1](a, panel, k, y + i * ldy, ldy, nc);
    }
}
