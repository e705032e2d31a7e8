// AVX2 dequantization of weights repacked at load (repack_q8.c has the layout) into the fp32
// GEMM's [k][16] panels: each 32-byte step (4 elements of 8 rows, byte 4r + j) is transposed
// within its 128-bit lanes so that one dword per element holds 4 rows, then widened to 8 floats
// (8 rows) per element and scaled: the values of vk_pack_panel_rp_portable.
#include "avx2_common.h"

#if VK_HAVE_AVX2

// Element j (< 4) of the 8 rows of step v, as 8 floats (rows in order), scaled ds * v + c.
VK_AVX2_INLINE __m256 rp_step_values(__m256i t, int j, int sgn, __m256 ds, __m256 c) {
    // t holds, per 128-bit lane (rows 0-3 | rows 4-7), element j's 4 rows in dword j.
    const __m256i pick = _mm256_setr_epi32(j, j + 4, 0, 0, 0, 0, 0, 0);
    const __m128i b = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(t, pick));
    const __m256i w = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    return _mm256_fmadd_ps(ds, _mm256_cvtepi32_ps(w), c);
}

// Writes the 4 elements of step v (elements e0 .. e0 + 3) of 8 rows to out[16 * e].
VK_AVX2_INLINE void rp_step(__m256i v, int sgn, __m256 ds, __m256 c, float *out) {
    // 4x4 byte transpose in each lane: byte 4r + j -> byte 4j + r.
    const __m256i tr = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i t = _mm256_shuffle_epi8(v, tr);
    for (int j = 0; j < 4; j++) _mm256_storeu_ps(out + 16 * j, rp_step_values(t, j, sgn, ds, c));
}

// 32 nibble elements (a 128-byte block) of 8 rows to out[16 * e].
VK_AVX2_INLINE void rp_nibble_block(const uint8_t *nib, __m256 ds, __m256 c, float *out) {
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int s = 0; s < 4; s++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(nib + 32 * s));
        rp_step(_mm256_and_si256(v, m15), 0, ds, c, out + 16 * 4 * s);
        rp_step(_mm256_and_si256(_mm256_srli_epi16(v, 4), m15), 0, ds, c, out + 16 * (16 + 4 * s));
    }
}

// 32 five-bit elements (128 bytes of nibbles, then 32 bytes of fifth bits) of 8 rows to out[16 * e].
VK_AVX2_INLINE void rp_five_block(const uint8_t *nib, __m256 ds, __m256 c, float *out) {
    const __m256i m15 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    const __m256i top = _mm256_loadu_si256((const __m256i *)(nib + 128));
    for (int s = 0; s < 4; s++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(nib + 32 * s));
        // Bits s and 4 + s of each byte to bit 4 (16-bit shifts: the mask drops what crosses bytes).
        const __m256i lo = _mm256_or_si256(_mm256_and_si256(v, m15), _mm256_and_si256(_mm256_slli_epi16(top, 4 - s), m16));
        const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m15),
                                           _mm256_and_si256(_mm256_srli_epi16(top, s), m16));
        rp_step(lo, 0, ds, c, out + 16 * 4 * s);
        rp_step(hi, 0, ds, c, out + 16 * (16 + 4 * s));
    }
}

// 32 table elements (128 bytes of indices into `levels`: IQ4's or MXFP4's) of 8 rows to
// out[16 * e]: ds * level.
VK_AVX2_INLINE void rp_levels_block(const uint8_t *nib, __m256 ds, float *out, const int8_t *levels) {
    const __m256i m15 = _mm256_set1_epi8(15);
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)levels));
    for (int s = 0; s < 4; s++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(nib + 32 * s));
        const __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, m15));
        const __m256i hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), m15));
        rp_step(lo, 1, ds, _mm256_setzero_ps(), out + 16 * 4 * s);
        rp_step(hi, 1, ds, _mm256_setzero_ps(), out + 16 * (16 + 4 * s));
    }
}

VK_AVX2_INLINE __m256 rp_f16x8_avx2(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
VK_AVX2_INLINE __m256 rp_b8x8(const uint8_t *p, int sgn) {
    const __m128i b = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b));
}

// Elements of one record of one panel (8 rows) to out[16 * e].
VK_AVX2_INLINE void rp_record_avx2(int type, const uint8_t *p, float *out) {
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: {
        const __m256 d = rp_f16x8_avx2(p);
        const __m256 c = type == VK_TYPE_Q4_0 ? _mm256_mul_ps(d, _mm256_set1_ps(-8.0f)) : rp_f16x8_avx2(p + 16);
        rp_nibble_block(p + (type == VK_TYPE_Q4_0 ? 16 : 32), d, c, out);
        break;
    }
    case VK_TYPE_Q5_0: case VK_TYPE_Q5_1: {
        const __m256 d = rp_f16x8_avx2(p);
        const __m256 c = type == VK_TYPE_Q5_0 ? _mm256_mul_ps(d, _mm256_set1_ps(-16.0f)) : rp_f16x8_avx2(p + 16);
        rp_five_block(p + (type == VK_TYPE_Q5_0 ? 16 : 32), d, c, out);
        break;
    }
    case VK_TYPE_Q5_K: {
        const __m256 d = rp_f16x8_avx2(p), dmin = rp_f16x8_avx2(p + 16);
        for (int s = 0; s < 8; s++) {
            const __m256 ds = _mm256_mul_ps(d, rp_b8x8(p + 32 + 8 * s, 0));
            const __m256 c = _mm256_mul_ps(dmin, _mm256_sub_ps(_mm256_setzero_ps(), rp_b8x8(p + 96 + 8 * s, 0)));
            rp_five_block(p + 160 + 160 * s, ds, c, out + 16 * 32 * s);
        }
        break;
    }
    case VK_TYPE_IQ4_NL: rp_levels_block(p + 16, rp_f16x8_avx2(p), out, vk_iq4nl_values); break;
    case VK_TYPE_MXFP4: {
        float ds[8];
        for (int r = 0; r < 8; r++) ds[r] = vk_e8m0_half(p[r]);
        rp_levels_block(p + 8, _mm256_loadu_ps(ds), out, vk_mxfp4_values);
        break;
    }
    case VK_TYPE_IQ4_XS: {
        const __m256 d = rp_f16x8_avx2(p);
        for (int s = 0; s < 8; s++)
            rp_levels_block(p + 80 + 128 * s, _mm256_mul_ps(d, rp_b8x8(p + 16 + 8 * s, 1)), out + 16 * 32 * s, vk_iq4nl_values);
        break;
    }
    case VK_TYPE_Q8_0: {
        const __m256 d = rp_f16x8_avx2(p);
        for (int s = 0; s < 8; s++)
            rp_step(_mm256_loadu_si256((const __m256i *)(p + 16 + 32 * s)), 1, d, _mm256_setzero_ps(), out + 16 * 4 * s);
        break;
    }
    case VK_TYPE_Q4_K: {
        const __m256 d = rp_f16x8_avx2(p), dmin = rp_f16x8_avx2(p + 16);
        for (int s = 0; s < 8; s++) {
            const __m256 ds = _mm256_mul_ps(d, rp_b8x8(p + 32 + 8 * s, 0));
            const __m256 c = _mm256_mul_ps(dmin, _mm256_sub_ps(_mm256_setzero_ps(), rp_b8x8(p + 96 + 8 * s, 0)));
            rp_nibble_block(p + 160 + 128 * s, ds, c, out + 16 * 32 * s);
        }
        break;
    }
    case VK_TYPE_Q6_K: {
        const __m256 d = rp_f16x8_avx2(p);
        const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
        for (int g = 0; g < 16; g++) {
            const __m256 ds = _mm256_mul_ps(d, rp_b8x8(p + 16 + 8 * g, 1));
            const __m256 c = _mm256_mul_ps(ds, _mm256_set1_ps(-32.0f));
            const uint8_t *w = p + 144 + 192 * (g / 2);
            const __m256i top = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * (g % 2)));
            for (int s = 0; s < 4; s++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(w + 32 * s));
                const __m256i low = _mm256_and_si256(g % 2 ? _mm256_srli_epi16(v, 4) : v, m15);
                // Bits 2s, 2s + 1 of each byte to bits 4, 5.
                const __m256i t = s < 2 ? _mm256_slli_epi16(top, 4 - 2 * s) : _mm256_srli_epi16(top, 2 * s - 4);
                rp_step(_mm256_or_si256(low, _mm256_and_si256(t, m48)), 0, ds, c, out + 16 * (16 * g + 4 * s));
            }
        }
        break;
    }
    default: break;  // vk_pack_panel_rp_avx2 hands other types to the portable code
    }
}

VK_AVX2 void vk_pack_panel_rp_avx2(int type, const char *rp, int64_t pb, int64_t kb, int64_t kc, int64_t rows,
                                   float *panel) {
    if (type != VK_TYPE_Q4_0 && type != VK_TYPE_Q4_1 && type != VK_TYPE_Q5_0 && type != VK_TYPE_Q5_1 &&
        type != VK_TYPE_Q8_0 && type != VK_TYPE_Q4_K && type != VK_TYPE_Q5_K && type != VK_TYPE_Q6_K &&
        type != VK_TYPE_IQ4_NL && type != VK_TYPE_IQ4_XS && type != VK_TYPE_MXFP4) {
        vk_pack_panel_rp_portable(type, rp, pb, kb, kc, rows, panel);
        return;
    }
    const int64_t elems = vk_rp_record_elems(type), rec = vk_rp_record_bytes(type);
    for (int half = 0; half < 2; half++) {
        if (rows <= 8 * half) {
            for (int64_t j = 0; j < kc; j++) _mm256_storeu_ps(panel + 16 * j + 8 * half, _mm256_setzero_ps());
            continue;
        }
        const uint8_t *p = (const uint8_t *)rp + half * pb;
        for (int64_t t = kb / elems; t < (kb + kc) / elems; t++)
            rp_record_avx2(type, p + t * rec, panel + 16 * (t * elems - kb) + 8 * half);
    }
}

#endif
