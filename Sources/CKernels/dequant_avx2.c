// AVX2 + F16C dequantization. Bit-identical to dequant_ref.c: the same float operations in the
// same order (separate multiply and add/subtract, never fused).
#include "avx2_common.h"
#include "blocks.h"

#if VK_HAVE_AVX2

VK_AVX2_INLINE void deq_q4_0(const vk_block_q4_0 *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15), eight = _mm256_set1_epi32(8);
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const __m256 d = vk_f16c_bcast(&b[i].d);
        for (int h = 0; h < 16; h += 8) {
            const __m256i v = vk_u8x8(b[i].qs + h);
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v, m15), eight));
            const __m256 hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v, 4), eight));
            _mm256_storeu_ps(y + h, _mm256_mul_ps(lo, d));
            _mm256_storeu_ps(y + 16 + h, _mm256_mul_ps(hi, d));
        }
    }
}

VK_AVX2_INLINE void deq_q4_1(const vk_block_q4_1 *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15);
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const __m256 d = vk_f16c_bcast(&b[i].d), m = vk_f16c_bcast(&b[i].m);
        for (int h = 0; h < 16; h += 8) {
            const __m256i v = vk_u8x8(b[i].qs + h);
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, m15));
            const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
            _mm256_storeu_ps(y + h, _mm256_add_ps(_mm256_mul_ps(lo, d), m));
            _mm256_storeu_ps(y + 16 + h, _mm256_add_ps(_mm256_mul_ps(hi, d), m));
        }
    }
}

// The fifth bits of elements j0 .. j0 + 7 of a Q5_0 / Q5_1 block (qh as its 32-bit word), as 16s.
VK_AVX2_INLINE __m256i q5_high8(uint32_t qh, int j0) {
    const __m256i shifts = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(j0));
    const __m256i bits = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)qh), shifts), _mm256_set1_epi32(1));
    return _mm256_slli_epi32(bits, 4);
}

VK_AVX2_INLINE void deq_q5_0(const vk_block_q5_0 *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15), c16 = _mm256_set1_epi32(16);
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const __m256 d = vk_f16c_bcast(&b[i].d);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int h = 0; h < 16; h += 8) {
            const __m256i v = vk_u8x8(b[i].qs + h);
            const __m256i lo = _mm256_sub_epi32(_mm256_or_si256(_mm256_and_si256(v, m15), q5_high8(qh, h)), c16);
            const __m256i hi = _mm256_sub_epi32(_mm256_or_si256(_mm256_srli_epi32(v, 4), q5_high8(qh, 16 + h)), c16);
            _mm256_storeu_ps(y + h, _mm256_mul_ps(_mm256_cvtepi32_ps(lo), d));
            _mm256_storeu_ps(y + 16 + h, _mm256_mul_ps(_mm256_cvtepi32_ps(hi), d));
        }
    }
}

VK_AVX2_INLINE void deq_q5_1(const vk_block_q5_1 *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15);
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const __m256 d = vk_f16c_bcast(&b[i].d), m = vk_f16c_bcast(&b[i].m);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int h = 0; h < 16; h += 8) {
            const __m256i v = vk_u8x8(b[i].qs + h);
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_or_si256(_mm256_and_si256(v, m15), q5_high8(qh, h)));
            const __m256 hi = _mm256_cvtepi32_ps(_mm256_or_si256(_mm256_srli_epi32(v, 4), q5_high8(qh, 16 + h)));
            _mm256_storeu_ps(y + h, _mm256_add_ps(_mm256_mul_ps(lo, d), m));
            _mm256_storeu_ps(y + 16 + h, _mm256_add_ps(_mm256_mul_ps(hi, d), m));
        }
    }
}

// 32 values coded as nibbles indexing a 16-entry int8 table (IQ4_NL's levels, MXFP4's E2M1
// values; 16 bytes at qs, low nibbles first) times dl, to y[0 .. 32).
VK_AVX2_INLINE void table_nibbles32(const int8_t *levels, const uint8_t *qs, __m256 dl, float *y) {
    const __m128i table = _mm_loadu_si128((const __m128i *)levels), m15 = _mm_set1_epi8(15);
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(v, m15));
    const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(v, 4), m15));
    _mm256_storeu_ps(y, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

VK_AVX2_INLINE void deq_iq4_nl(const vk_block_iq4_nl *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) table_nibbles32(vk_iq4nl_values, b[i].qs, vk_f16c_bcast(&b[i].d), y);
}

VK_AVX2_INLINE void deq_mxfp4(const vk_block_mxfp4 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) table_nibbles32(vk_mxfp4_values, b[i].qs, _mm256_set1_ps(vk_e8m0_half(b[i].e)), y);
}

VK_AVX2_INLINE void deq_iq4_xs(const vk_block_iq4_xs *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d);
        uint8_t ls[8];
        vk_iq4xs_scales(&b[i], ls);
        for (int s = 0; s < 8; s++, y += 32)
            table_nibbles32(vk_iq4nl_values, b[i].qs + 16 * s, _mm256_set1_ps(d * (float)(ls[s] - 32)), y);
    }
}

// Q2_K / Q3_K: elements 128n + 32j + l (l < 32) are the 2-bit fields 2j, 2j+1 of qs[32n + l]; one
// 32-byte load serves the four j (16-bit shifts: the mask drops what crosses bytes).
VK_AVX2_INLINE void deq_q2_K(const vk_block_q2_K *b, float *y, int64_t nb) {
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d), dmin = vk_f16c_load(&b[i].dmin);
        for (int n = 0; n < 2; n++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * n));
            for (int j = 0; j < 4; j++, y += 32) {
                const __m256i t = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m3);
                for (int g = 0; g < 4; g++) {
                    const uint8_t sc = b[i].scales[8 * n + 2 * j + g / 2];
                    const __m256 dl = _mm256_set1_ps(d * (float)(sc & 0x0F)), ml = _mm256_set1_ps(dmin * (float)(sc >> 4));
                    const __m256 q = _mm256_cvtepi32_ps(vk_bytes8_i32(t, g, 0));
                    _mm256_storeu_ps(y + 8 * g, _mm256_sub_ps(_mm256_mul_ps(dl, q), ml));
                }
            }
        }
    }
}

VK_AVX2_INLINE void deq_q3_K(const vk_block_q3_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d);
        uint8_t sc[16];
        vk_q3k_scales(b[i].scales, sc);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)b[i].hmask);
        for (int n = 0; n < 2; n++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * n));
            for (int j = 0; j < 4; j++, y += 32) {
                const __m256i t = vk_q3k_values32(v, hm, n, j);
                for (int g = 0; g < 4; g++) {
                    const __m256 dl = _mm256_set1_ps(d * (float)(sc[8 * n + 2 * j + g / 2] - 32));
                    _mm256_storeu_ps(y + 8 * g, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(vk_bytes8_i32(t, g, 1))));
                }
            }
        }
    }
}

VK_AVX2_INLINE void deq_q8_K(const vk_block_q8_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK_K) {
        const __m256 d = _mm256_broadcast_ss(&b[i].d);
        for (int h = 0; h < VK_QK_K; h += 8)
            _mm256_storeu_ps(y + h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(vk_i8x8(b[i].qs + h))));
    }
}

VK_AVX2_INLINE void deq_q8_0(const vk_block_q8_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += VK_QK) {
        const __m256 d = vk_f16c_bcast(&b[i].d);
        for (int h = 0; h < 32; h += 8)
            _mm256_storeu_ps(y + h, _mm256_mul_ps(_mm256_cvtepi32_ps(vk_i8x8(b[i].qs + h)), d));
    }
}

VK_AVX2_INLINE void deq_q4_K(const vk_block_q4_K *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15);
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d), dmin = vk_f16c_load(&b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 4; j++, q += 32, y += 64) {
            uint8_t sc, mn;
            vk_k4_scale_min(2 * j, b[i].scales, &sc, &mn);
            const __m256 d1 = _mm256_set1_ps(d * (float)sc), m1 = _mm256_set1_ps(dmin * (float)mn);
            vk_k4_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
            const __m256 d2 = _mm256_set1_ps(d * (float)sc), m2 = _mm256_set1_ps(dmin * (float)mn);
            for (int l = 0; l < 32; l += 8) {
                const __m256i v = vk_u8x8(q + l);
                const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, m15));
                const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
                _mm256_storeu_ps(y + l, _mm256_sub_ps(_mm256_mul_ps(d1, lo), m1));
                _mm256_storeu_ps(y + 32 + l, _mm256_sub_ps(_mm256_mul_ps(d2, hi), m2));
            }
        }
    }
}

VK_AVX2_INLINE void deq_q5_K(const vk_block_q5_K *b, float *y, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi32(15), one = _mm256_set1_epi32(1);
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d), dmin = vk_f16c_load(&b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 4; j++, q += 32, y += 64) {
            uint8_t sc, mn;
            vk_k4_scale_min(2 * j, b[i].scales, &sc, &mn);
            const __m256 d1 = _mm256_set1_ps(d * (float)sc), m1 = _mm256_set1_ps(dmin * (float)mn);
            vk_k4_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
            const __m256 d2 = _mm256_set1_ps(d * (float)sc), m2 = _mm256_set1_ps(dmin * (float)mn);
            const __m128i s1 = _mm_cvtsi32_si128(2 * j), s2 = _mm_cvtsi32_si128(2 * j + 1);
            for (int l = 0; l < 32; l += 8) {
                const __m256i v = vk_u8x8(q + l), h = vk_u8x8(b[i].qh + l);
                const __m256i h1 = _mm256_slli_epi32(_mm256_and_si256(_mm256_srl_epi32(h, s1), one), 4);
                const __m256i h2 = _mm256_slli_epi32(_mm256_and_si256(_mm256_srl_epi32(h, s2), one), 4);
                const __m256 lo = _mm256_cvtepi32_ps(_mm256_or_si256(_mm256_and_si256(v, m15), h1));
                const __m256 hi = _mm256_cvtepi32_ps(_mm256_or_si256(_mm256_srli_epi32(v, 4), h2));
                _mm256_storeu_ps(y + l, _mm256_sub_ps(_mm256_mul_ps(d1, lo), m1));
                _mm256_storeu_ps(y + 32 + l, _mm256_sub_ps(_mm256_mul_ps(d2, hi), m2));
            }
        }
    }
}

// The four 8-lane groups of Q6_K values at ql + l, ql + 32 + l, qh + l (see blocks.h), minus 32.
VK_AVX2_INLINE void q6k_unpack(const uint8_t *ql, const uint8_t *qh, int l, __m256i q[4]) {
    const __m256i m15 = _mm256_set1_epi32(15), m48 = _mm256_set1_epi32(48), c32 = _mm256_set1_epi32(32);
    const __m256i a = vk_u8x8(ql + l), b = vk_u8x8(ql + 32 + l), h = vk_u8x8(qh + l);
    q[0] = _mm256_or_si256(_mm256_and_si256(a, m15), _mm256_and_si256(_mm256_slli_epi32(h, 4), m48));
    q[1] = _mm256_or_si256(_mm256_and_si256(b, m15), _mm256_and_si256(_mm256_slli_epi32(h, 2), m48));
    q[2] = _mm256_or_si256(_mm256_srli_epi32(a, 4), _mm256_and_si256(h, m48));
    q[3] = _mm256_or_si256(_mm256_srli_epi32(b, 4), _mm256_and_si256(_mm256_srli_epi32(h, 2), m48));
    for (int g = 0; g < 4; g++) q[g] = _mm256_sub_epi32(q[g], c32);
}

VK_AVX2_INLINE void deq_q6_K(const vk_block_q6_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d);
        const uint8_t *ql = b[i].ql, *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l += 8) {
                const int is = l / 16;
                __m256i q[4];
                q6k_unpack(ql, qh, l, q);
                for (int g = 0; g < 4; g++) {
                    const __m256 s = _mm256_set1_ps(d * (float)sc[is + 2 * g]);
                    _mm256_storeu_ps(y + 32 * g + l, _mm256_mul_ps(s, _mm256_cvtepi32_ps(q[g])));
                }
            }
        }
    }
}

VK_AVX2 static void deq_f16(const uint16_t *h, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    for (; i < n; i++) y[i] = vk_fp16_to_fp32(h[i]);
}

VK_AVX2 static void deq_bf16(const uint16_t *h, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i)));
        _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; i++) y[i] = vk_bf16_to_fp32(h[i]);
}

VK_AVX2 void vk_dequantize_row_avx2(int type, const void *src, float *dst, int64_t n) {
    const int64_t be = vk_type_block_elems(type);
    if (be == 0 || n <= 0) return;
    const int64_t nb = n / be;
    switch (type) {
    case VK_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case VK_TYPE_F16: deq_f16((const uint16_t *)src, dst, n); break;
    case VK_TYPE_BF16: deq_bf16((const uint16_t *)src, dst, n); break;
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
    // A type this level has no kernel for runs the portable code, never leaves dst unwritten.
    default: vk_dequantize_row_portable(type, src, dst, n); break;
    }
}

#endif
