// AVX2 dot products of one stored row with 1..4 fp32 activation rows whose block sums were
// computed once per matmul (vk_act_sums) and are shared by every weight row. A block's constant
// part (Q4_1's m, Q4_K's dmin * m_s, Q6_K's offset -32) then costs one multiply-add per
// sub-block and activation row instead of one per weight, and the inner loop is only integer ->
// float conversion and fma. Weights are still exact: the stored integers convert to fp32 exactly
// and each sub-block's sum is scaled by its fp32 scale, as the scalar reference does.
#include "avx2_common.h"
#include "blocks.h"

#if VK_HAVE_AVX2

// ---- Q4_1: sums as (0, s) pairs so one 128-bit fma with (d, m) adds m * s ----

VK_AVX2_INLINE void q4_1s_nx(const vk_block_q4_1 *b, int64_t nb, const float *x, int64_t ldx,
                             const float *xs, int64_t ldxs, int nx, float *out, int64_t ldout) {
    const __m256i m15 = _mm256_set1_epi32(15);
    __m256 acc[VK_MULTI_MAX];
    __m128 accm[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) {
        acc[r] = _mm256_setzero_ps();
        accm[r] = _mm_setzero_ps();
    }
    for (int64_t i = 0; i < nb; i++) {
        const __m256i v0 = vk_u8x8(b[i].qs), v1 = vk_u8x8(b[i].qs + 8);
        const __m256 q0 = _mm256_cvtepi32_ps(_mm256_and_si256(v0, m15));
        const __m256 q1 = _mm256_cvtepi32_ps(_mm256_and_si256(v1, m15));
        const __m256 q2 = _mm256_cvtepi32_ps(_mm256_srli_epi32(v0, 4));
        const __m256 q3 = _mm256_cvtepi32_ps(_mm256_srli_epi32(v1, 4));
        uint32_t dmbits;
        memcpy(&dmbits, &b[i].d, 4);
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dmbits));  // (d, m, 0, 0)
        const __m256 d = _mm256_broadcastss_ps(dm);
        for (int r = 0; r < nx; r++) {
            const float *xr = x + r * ldx + i * VK_QK;
            const __m256 p0 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xr + 8), _mm256_mul_ps(q0, _mm256_loadu_ps(xr)));
            const __m256 p1 = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xr + 24), _mm256_mul_ps(q2, _mm256_loadu_ps(xr + 16)));
            acc[r] = _mm256_fmadd_ps(d, _mm256_add_ps(p0, p1), acc[r]);
            const __m128 s = _mm_castpd_ps(_mm_load_sd((const double *)(xs + r * ldxs + 2 * i)));
            accm[r] = _mm_fmadd_ps(dm, s, accm[r]);
        }
    }
    for (int r = 0; r < nx; r++)
        out[r * ldout] = vk_hsum256(acc[r]) + _mm_cvtss_f32(_mm_movehdup_ps(accm[r]));
}

// ---- K-quants: a super-block's integers unpacked to bytes, its scales to fp32 lanes ----

// Q4_K: x_e = d*sc_s * q_e - dmin*m_s for sub-block s = e / 32. sums: one per sub-block.
// q[e] in element order (blocks.h); dsc/dmn lane s = d*sc_s / dmin*m_s.
VK_AVX2_INLINE void unpack_q4_K(const vk_block_q4_K *b, uint8_t q[VK_QK_K], __m256 *dsc, __m256 *dmn) {
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * j));
        _mm256_storeu_si256((__m256i *)(q + 64 * j), _mm256_and_si256(v, m15));
        _mm256_storeu_si256((__m256i *)(q + 64 * j + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m15));
    }
    vk_k4_scales_f32(b->scales, &b->d, &b->dmin, dsc, dmn);
}

// Q6_K: x_e = d*sc_s * (q_e - 32) for sub-block s = e / 16. sums: one per sub-block.
VK_AVX2_INLINE void unpack_q6_K(const vk_block_q6_K *b, uint8_t q[VK_QK_K], __m256 dsc[2]) {
    const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
    for (int h = 0; h < 2; h++) {
        const __m256i lo = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
        const __m256i hi = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
        uint8_t *o = q + 128 * h;
        // Bits 2k, 2k+1 of qh become bits 4, 5 (16-bit shifts: the mask drops what crosses bytes).
        _mm256_storeu_si256((__m256i *)o, _mm256_or_si256(_mm256_and_si256(lo, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m48)));
        _mm256_storeu_si256((__m256i *)(o + 32), _mm256_or_si256(_mm256_and_si256(hi, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m48)));
        _mm256_storeu_si256((__m256i *)(o + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo, 4), m15), _mm256_and_si256(qh, m48)));
        _mm256_storeu_si256((__m256i *)(o + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(hi, 4), m15), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48)));
    }
    const __m256 d = _mm256_set1_ps(vk_f16c_load(&b->d));
    dsc[0] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(vk_i8x8(b->scales)));
    dsc[1] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(vk_i8x8(b->scales + 8)));
}

// sum over 8 * groups elements of q * x (q: unpacked integer bytes), as 8 lanes.
VK_AVX2_INLINE __m256 qx_u8(const uint8_t *q, const float *x, int groups) {
    __m256 p0 = _mm256_mul_ps(_mm256_cvtepi32_ps(vk_u8x8(q)), _mm256_loadu_ps(x));
    __m256 p1 = _mm256_mul_ps(_mm256_cvtepi32_ps(vk_u8x8(q + 8)), _mm256_loadu_ps(x + 8));
    for (int g = 2; g < groups; g += 2) {
        p0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(vk_u8x8(q + 8 * g)), _mm256_loadu_ps(x + 8 * g), p0);
        p1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(vk_u8x8(q + 8 * g + 8)), _mm256_loadu_ps(x + 8 * g + 8), p1);
    }
    return _mm256_add_ps(p0, p1);
}

// The same over integers already converted to floats (multi-row kernels convert a super-block
// once and share it between the rows).
VK_AVX2_INLINE __m256 qx_f32(const float *q, const float *x, int groups) {
    __m256 p0 = _mm256_mul_ps(_mm256_load_ps(q), _mm256_loadu_ps(x));
    __m256 p1 = _mm256_mul_ps(_mm256_load_ps(q + 8), _mm256_loadu_ps(x + 8));
    for (int g = 2; g < groups; g += 2) {
        p0 = _mm256_fmadd_ps(_mm256_load_ps(q + 8 * g), _mm256_loadu_ps(x + 8 * g), p0);
        p1 = _mm256_fmadd_ps(_mm256_load_ps(q + 8 * g + 8), _mm256_loadu_ps(x + 8 * g + 8), p1);
    }
    return _mm256_add_ps(p0, p1);
}

VK_AVX2_INLINE void bytes_to_f32(const uint8_t *q, float *qf) {
    for (int g = 0; g < VK_QK_K / 8; g++) _mm256_store_ps(qf + 8 * g, _mm256_cvtepi32_ps(vk_u8x8(q + 8 * g)));
}

// One activation row: nibbles unpacked in registers, no byte buffer round trip.
VK_AVX2_INLINE void q4_Ks_one(const vk_block_q4_K *b, int64_t nb, const float *x, const float *xs,
                             float *out) {
    const __m256i m15 = _mm256_set1_epi32(15);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, accm = acc0;
    float sc[8];
    for (int64_t i = 0; i < nb; i++, x += VK_QK_K) {
        __m256 dsc, dmn;
        vk_k4_scales_f32(b[i].scales, &b[i].d, &b[i].dmin, &dsc, &dmn);
        accm = _mm256_fmadd_ps(dmn, _mm256_loadu_ps(xs + 8 * i), accm);
        _mm256_storeu_ps(sc, dsc);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 4; j++, q += 32) {
            const float *xj = x + 64 * j;
            const __m256i v = vk_u8x8(q);
            __m256 plo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, m15)), _mm256_loadu_ps(xj));
            __m256 phi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4)), _mm256_loadu_ps(xj + 32));
            for (int g = 1; g < 4; g++) {
                const __m256i w = vk_u8x8(q + 8 * g);
                plo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(w, m15)), _mm256_loadu_ps(xj + 8 * g), plo);
                phi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w, 4)), _mm256_loadu_ps(xj + 32 + 8 * g), phi);
            }
            acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 2 * j), plo, acc0);
            acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 2 * j + 1), phi, acc1);
        }
    }
    *out = vk_hsum256(_mm256_sub_ps(_mm256_add_ps(acc0, acc1), accm));
}

VK_AVX2_INLINE void q4_Ks_nx(const vk_block_q4_K *b, int64_t nb, const float *x, int64_t ldx,
                             const float *xs, int64_t ldxs, int nx, float *out, int64_t ldout) {
    if (nx == 1) {
        q4_Ks_one(b, nb, x, xs, out);
        return;
    }
    __m256 acc[VK_MULTI_MAX], accm[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = accm[r] = _mm256_setzero_ps();
    uint8_t q[VK_QK_K] __attribute__((aligned(32)));
    float qf[VK_QK_K] __attribute__((aligned(32)));
    float sc[8];
    for (int64_t i = 0; i < nb; i++) {
        __m256 dsc, dmn;
        unpack_q4_K(b + i, q, &dsc, &dmn);
        bytes_to_f32(q, qf);
        _mm256_storeu_ps(sc, dsc);
        for (int r = 0; r < nx; r++) {
            const float *xr = x + r * ldx + i * VK_QK_K;
            accm[r] = _mm256_fmadd_ps(dmn, _mm256_loadu_ps(xs + r * ldxs + 8 * i), accm[r]);
            for (int s = 0; s < 8; s++)
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + s), qx_f32(qf + 32 * s, xr + 32 * s, 4), acc[r]);
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(_mm256_sub_ps(acc[r], accm[r]));
}

VK_AVX2_INLINE void q6_Ks_nx(const vk_block_q6_K *b, int64_t nb, const float *x, int64_t ldx,
                             const float *xs, int64_t ldxs, int nx, float *out, int64_t ldout) {
    __m256 acc[VK_MULTI_MAX], accm[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = accm[r] = _mm256_setzero_ps();
    // Block i + 1 is unpacked while block i is summed, so the byte loads never wait on the
    // stores that just wrote them.
    uint8_t q[2][VK_QK_K] __attribute__((aligned(32)));
    float qf[VK_QK_K] __attribute__((aligned(32)));
    __m256 dsc[2][2];
    float sc[16];
    if (nb > 0) unpack_q6_K(b, q[0], dsc[0]);
    for (int64_t i = 0; i < nb; i++) {
        const int cur = (int)(i & 1);
        if (i + 1 < nb) unpack_q6_K(b + i + 1, q[cur ^ 1], dsc[cur ^ 1]);
        _mm256_storeu_ps(sc, dsc[cur][0]);
        _mm256_storeu_ps(sc + 8, dsc[cur][1]);
        if (nx > 1) bytes_to_f32(q[cur], qf);
        for (int r = 0; r < nx; r++) {
            const float *xr = x + r * ldx + i * VK_QK_K, *xsr = xs + r * ldxs + 16 * i;
            accm[r] = _mm256_fmadd_ps(dsc[cur][0], _mm256_loadu_ps(xsr), accm[r]);
            accm[r] = _mm256_fmadd_ps(dsc[cur][1], _mm256_loadu_ps(xsr + 8), accm[r]);
            for (int s = 0; s < 16; s++) {
                const __m256 p = nx > 1 ? qx_f32(qf + 16 * s, xr + 16 * s, 2) : qx_u8(q[cur] + 16 * s, xr + 16 * s, 2);
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + s), p, acc[r]);
            }
        }
    }
    for (int r = 0; r < nx; r++)
        out[r * ldout] = vk_hsum256(_mm256_fnmadd_ps(_mm256_set1_ps(32.0f), accm[r], acc[r]));
}

// Separate (non-inlined) instances per type and row count so each gets its own registers.
typedef void (*vk_sums_fn)(const void *w, int64_t nb, const float *x, int64_t ldx, const float *xs,
                           int64_t ldxs, float *out, int64_t ldout);
#define VK_SUMS_INST(NAME, BLOCK, NX)                                                              \
    VK_AVX2 __attribute__((noinline)) static void NAME##_x##NX(const void *w, int64_t nb,          \
                                                                const float *x, int64_t ldx,       \
                                                                const float *xs, int64_t ldxs,     \
                                                                float *out, int64_t ldout) {       \
        NAME##_nx((const BLOCK *)w, nb, x, ldx, xs, ldxs, NX, out, ldout);                         \
    }
#define VK_SUMS_INST4(NAME, BLOCK)                                                                 \
    VK_SUMS_INST(NAME, BLOCK, 1) VK_SUMS_INST(NAME, BLOCK, 2) VK_SUMS_INST(NAME, BLOCK, 3)         \
    VK_SUMS_INST(NAME, BLOCK, 4)                                                                   \
    static const vk_sums_fn NAME##_fns[VK_MULTI_MAX] = {NAME##_x1, NAME##_x2, NAME##_x3, NAME##_x4};
VK_SUMS_INST4(q4_1s, vk_block_q4_1)
VK_SUMS_INST4(q4_Ks, vk_block_q4_K)
VK_SUMS_INST4(q6_Ks, vk_block_q6_K)

VK_AVX2 void vk_dot_sums_multi_avx2(int type, const void *w, int64_t n, const float *x, int64_t ldx,
                                    const float *xs, int64_t ldxs, int64_t nx, float *out,
                                    int64_t ldout) {
    if (n <= 0 || nx <= 0 || nx > VK_MULTI_MAX) return;
    switch (type) {
    case VK_TYPE_Q4_1: q4_1s_fns[nx - 1](w, n / VK_QK, x, ldx, xs, ldxs, out, ldout); return;
    case VK_TYPE_Q4_K: q4_Ks_fns[nx - 1](w, n / VK_QK_K, x, ldx, xs, ldxs, out, ldout); return;
    case VK_TYPE_Q6_K: q6_Ks_fns[nx - 1](w, n / VK_QK_K, x, ldx, xs, ldxs, out, ldout); return;
    // No block-sum kernel for this type: the plain dots need no sums (never leave out unwritten).
    default: vk_dot_row_multi_avx2(type, w, x, ldx, nx, n, out, ldout); return;
    }
}

#endif
