// AVX2 int8-activation kernels (dot_q8act_kernels.h, gemm_rp_kernels.h with vpmaddubsw +
// vpmaddwd as the byte dot product) and the AVX2 quantizer of the activation format.
#include "avx2_common.h"

#if VK_HAVE_AVX2

// u unsigned, s signed; the 16-bit pair sums cannot saturate: |u| <= 128, |s| <= 127.
#define VK_Q8A_TARGET VK_AVX2
#define VK_Q8A_INLINE VK_AVX2_INLINE
#define VK_Q8A_DOT32(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#define VK_Q8A_ENTRY vk_dot_q8act_multi_avx2
#include "dot_q8act_kernels.h"

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
