// AVX2 int8-activation kernels: gemm_rp_kernels.h with vpmaddubsw + vpmaddwd as the byte dot
// product; stored Q8_0 rows (the one type of vk_matmul's int8 path this level does not repack:
// its unsigned bytes would saturate vpmaddubsw's pair sums); the AVX2 quantizer of the activation
// format. One stored row against 1..4 activation rows quantized by act_q8.c: each 32-element
// block's integer sum is scaled once in fp32 by (weight scale * activation scale).
#include <string.h>

#include "avx2_common.h"
#include "blocks.h"

#if VK_HAVE_AVX2

// u unsigned, s signed; the 16-bit pair sums cannot saturate: |u| <= 128, |s| <= 127.
#define VK_Q8A_DOT32(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))

VK_AVX2_INLINE __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

// One lane's worth of a step for the tail blocks.
VK_AVX2_INLINE __m256 lane0(float v) { return _mm256_zextps128_ps256(_mm_set_ss(v)); }

// Lane i = the sum of the 8 lanes of v[i].
VK_AVX2_INLINE __m256i hsum8x8_epi32(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    // a = [v0 v1 v2 v3 (low halves) | v0 v1 v2 v3 (high halves)], b likewise for v4..v7.
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

VK_AVX2_INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// The fp16 value at byte offset `at` of each of 8 consecutive blocks, `stride` bytes apart.
VK_AVX2_INLINE __m256 f16x8(const void *base, int64_t stride, int64_t at) {
    const uint8_t *p = (const uint8_t *)base + at;
    uint16_t h[8];
    for (int j = 0; j < 8; j++) memcpy(&h[j], p + j * stride, 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

// Q8_0: vpmaddubsw wants one unsigned side: |w| with w's sign moved onto x.
VK_AVX2_INLINE void q8_0a_nx(const vk_block_q8_0 *b, int64_t nb, const vk_act_q8 *a, int nx,
                             float *out, int64_t ldout) {
    __m256 acc[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        const __m256 d = f16x8(b + i, sizeof *b, 0);
        __m256i u[8];
        for (int j = 0; j < 8; j++) u[j] = _mm256_abs_epi8(load32(b[i + j].qs));
        for (int r = 0; r < nx; r++) {
            __m256i p[8];
            // w is loaded again for its sign: loads are cheaper than keeping 8 more registers.
            for (int j = 0; j < 8; j++)
                p[j] = VK_Q8A_DOT32(u[j], _mm256_sign_epi8(load32(a[r].q + 32 * (i + j)), load32(b[i + j].qs)));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_loadu_ps(a[r].d + i)), _mm256_cvtepi32_ps(hsum8x8_epi32(p)), acc[r]);
        }
    }
    for (; i < nb; i++) {
        const __m256i w = load32(b[i].qs), u = _mm256_abs_epi8(w);
        const float d = vk_f16c_load(&b[i].d);
        for (int r = 0; r < nx; r++) {
            const int t = hsum_epi32(VK_Q8A_DOT32(u, _mm256_sign_epi8(load32(a[r].q + 32 * i), w)));
            acc[r] = _mm256_add_ps(acc[r], lane0(d * a[r].d[i] * (float)t));
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(acc[r]);
}

typedef void (*vk_q8a_fn)(const vk_block_q8_0 *w, int64_t nb, const vk_act_q8 *a, float *out, int64_t ldout);
#define VK_Q8A_INST(NX)                                                                             \
    VK_AVX2 __attribute__((noinline)) static void q8_0a_x##NX(const vk_block_q8_0 *w, int64_t nb,  \
                                                              const vk_act_q8 *a, float *out,       \
                                                              int64_t ldout) {                      \
        q8_0a_nx(w, nb, a, NX, out, ldout);                                                         \
    }
VK_Q8A_INST(1)
VK_Q8A_INST(2)
VK_Q8A_INST(3)
VK_Q8A_INST(4)
static const vk_q8a_fn q8_0a_fns[VK_MULTI_MAX] = {q8_0a_x1, q8_0a_x2, q8_0a_x3, q8_0a_x4};

VK_AVX2 void vk_dot_q8act_multi_avx2(int type, const void *w, int64_t n, const vk_act_q8 *a, int64_t nx,
                                     float *out, int64_t ldout) {
    if (n <= 0 || nx <= 0 || nx > VK_MULTI_MAX) return;
    if (type == VK_TYPE_Q8_0) q8_0a_fns[nx - 1]((const vk_block_q8_0 *)w, n / VK_QK, a, out, ldout);
    // No int8 kernel for this type: the portable one, never a silent zero.
    else vk_dot_q8act_multi_portable(type, w, n, a, nx, out, ldout);
}

#define VK_RP_TARGET VK_AVX2
#define VK_RP_INLINE VK_AVX2_INLINE
// Weights up to 63 (4- and 6-bit formats): pair sums of vpmaddubsw stay below 2 * 63 * 127.
#define VK_RP_DPBUSD(acc, u, s) _mm256_add_epi32((acc), VK_Q8A_DOT32((u), (s)))
#define VK_RP_Q8 0
#define VK_RP_GEMM vk_gemm_rp_avx2
#define VK_RP_MR 4
#include "gemm_rp_kernels.h"

// ---- the activation format (act_q8.c), same rounding as the portable quantizer ----

VK_AVX2 void vk_quantize_act_q8_terms_avx2(const float *x, int64_t k, int terms, void *out) {
    const int64_t nb = k / 32;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-127);
    // packs interleaves 128-bit lanes; this puts the 4-byte groups back in element order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < nb; b++) {
        __m256 v[4];
        for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 32 * b + 8 * i);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                 _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int t = 0; t < terms; t++) {
            const vk_act_q8 a = vk_act_q8_view((char *)out + t * vk_act_q8_bytes(k), k);
            __m256i qi[4];
            for (int i = 0; i < 4; i++)
                qi[i] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], _mm256_set1_ps(inv))), hi), lo);
            int16_t *s = (int16_t *)a.s;
            s[2 * b] = (int16_t)hsum_epi32(_mm256_add_epi32(qi[0], qi[1]));
            s[2 * b + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(qi[2], qi[3]));
            *(float *)&a.d[b] = d;
            *(float *)&a.xs[b] = d * (float)(s[2 * b] + s[2 * b + 1]);
            const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
            _mm256_storeu_si256((__m256i *)(a.q + 32 * b), _mm256_permutevar8x32_epi32(bytes, order));
            // The next term quantizes what this one missed, at 1/256 of its scale.
            for (int i = 0; i < 4; i++) v[i] = _mm256_fnmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(qi[i]), v[i]);
            inv = vk_act_q8_next_inv(inv);
            d = inv > 0.0f ? d / (float)(1 << VK_TERM_SHIFT) : 0.0f;
        }
    }
}

#endif
