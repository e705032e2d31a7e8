// Helpers shared by the AVX2 + FMA + F16C kernel files. Everything here is compiled with a
// per-function target attribute; callers must be VK_AVX2 functions.
#ifndef CKERNELS_AVX2_COMMON_H
#define CKERNELS_AVX2_COMMON_H

#include "blocks.h"
#include "fp16.h"
#include "internal.h"

#if VK_HAVE_AVX2
#include <immintrin.h>
#include <string.h>

#define VK_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// fp16 at p (unaligned) -> float, via F16C.
VK_AVX2_INLINE float vk_f16c_load(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/// fp16 at p broadcast to 8 float lanes.
VK_AVX2_INLINE __m256 vk_f16c_bcast(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)h));
}

/// 8 bytes at p, zero-extended to 8 x int32.
VK_AVX2_INLINE __m256i vk_u8x8(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/// 8 signed bytes at p, sign-extended to 8 x int32.
VK_AVX2_INLINE __m256i vk_i8x8(const int8_t *p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/// Bytes 8g .. 8g+7 (g < 4) of t as 8 x int32, zero- or sign-extended.
VK_AVX2_INLINE __m256i vk_bytes8_i32(__m256i t, int g, int sgn) {
    __m128i h = g < 2 ? _mm256_castsi256_si128(t) : _mm256_extracti128_si256(t, 1);
    if (g % 2) h = _mm_srli_si128(h, 8);
    return sgn ? _mm256_cvtepi8_epi32(h) : _mm256_cvtepu8_epi32(h);
}

/// A Q4_K / Q5_K block's eight sub-block scales d*sc_s and minimums dmin*m_s as fp32 lanes
/// (`scales` is the block's 12 packed bytes, `d`/`dmin` its fp16 fields).
VK_AVX2_INLINE void vk_k4_scales_f32(const uint8_t *scales, const void *d, const void *dmin,
                                     __m256 *dsc, __m256 *dmn) {
    uint8_t sm[16];
    vk_k4_scales_mins(scales, sm);
    int64_t s8, m8;
    memcpy(&s8, sm, 8);
    memcpy(&m8, sm + 8, 8);
    *dsc = _mm256_mul_ps(_mm256_set1_ps(vk_f16c_load(d)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(s8))));
    *dmn = _mm256_mul_ps(_mm256_set1_ps(vk_f16c_load(dmin)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(m8))));
}

/// Q3_K: the 32 signed values (-4..3) of shift j of the block's half n, as bytes: the 2 low bits
/// from qs (v: the half's 32 bytes), the high bit from hmask (hm), minus 4.
VK_AVX2_INLINE __m256i vk_q3k_values32(__m256i v, __m256i hm, int n, int j) {
    const __m256i h = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + j), _mm256_set1_epi8(1));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), _mm256_set1_epi8(3));
    return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(h, 2)), _mm256_set1_epi8(4));
}

VK_AVX2_INLINE float vk_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// exp(x) for 8 lanes: Cephes-style range reduction + degree-6 polynomial (about 1-2 ulp).
/// Inputs below ln(FLT_MIN) (and -inf) give 0; inputs are clamped above at 88.
VK_AVX2_INLINE __m256 vk_exp256(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), lo);
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i n = _mm256_cvtps_epi32(fx);
    const __m256 pow2n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, pow2n));
}

#endif
#endif
