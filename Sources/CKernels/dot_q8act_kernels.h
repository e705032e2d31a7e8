// The int8-activation dot kernels of vk_matmul's opt-in VK_ACT_INT8 path: one stored row against
// 1..4 activation rows quantized by act_q8.c. Included once per instruction set, with
//   VK_Q8A_TARGET   that set's target attribute, and VK_Q8A_INLINE the same, always inlined,
//   VK_Q8A_DOT32    (u, s) -> 8 int32 lanes whose total is sum(u[i] * s[i]) over 32 bytes,
//   VK_Q8A_ENTRY    the name of the dispatcher this file defines.
// Weight integers (unsigned nibbles / 6-bit values, or Q8_0's signed bytes made unsigned by moving
// their sign onto x) meet the int8 activations in an unsigned x signed byte product, so 32
// products cost one or two instructions instead of eight conversions and fmas. Integer sums are
// exact; each 32-element block's sum is scaled once in fp32 by (weight scale * activation scale).
#include <stddef.h>

#include "avx2_common.h"
#include "blocks.h"

// Lane i = the sum of the 8 lanes of v[i].
VK_Q8A_INLINE __m256i hsum8x8_epi32(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    // a = [v0 v1 v2 v3 (low halves) | v0 v1 v2 v3 (high halves)], b likewise for v4..v7.
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

VK_Q8A_INLINE __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

// The integer sum of q over each 32-element block b0 .. b0+7 of an activation row, as 8 lanes.
VK_Q8A_INLINE __m256i block_sums8(const int16_t *s, int64_t b0) {
    return _mm256_madd_epi16(load32(s + 2 * b0), _mm256_set1_epi16(1));
}

VK_Q8A_INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// ---- 32-element formats: one weight block per activation block ----
// Eight blocks make one step: their integer dots fill the 8 lanes of one vector, so the block
// scales (weight d gathered from the 8 blocks, activation d loaded as is) are applied 8 at a
// time instead of by a broadcast per block. Blocks past the last multiple of 8 use the same
// arithmetic one lane at a time.

// Q4_0 / Q4_1 nibbles: element j low nibble of qs[j], element j + 16 high nibble.
VK_Q8A_INLINE __m256i nibbles32(const uint8_t *qs) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(15));
}

// The fp16 value at byte offset `at` of each of 8 consecutive blocks, `stride` bytes apart.
VK_Q8A_INLINE __m256 f16x8(const void *base, int64_t stride, int64_t at) {
    const uint8_t *p = (const uint8_t *)base + at;
    uint16_t h[8];
    for (int j = 0; j < 8; j++) memcpy(&h[j], p + j * stride, 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

// One lane's worth of a step for the tail blocks.
VK_Q8A_INLINE __m256 lane0(float v) { return _mm256_zextps128_ps256(_mm_set_ss(v)); }

// Q4_0 and Q4_1 (`min`): x = d * q + c with c = -8d (Q4_0) or the block's m (Q4_1), so
// w · x = dx * (d * sum q*x8 + c * sum x8).
VK_Q8A_INLINE void q4a_nx(const uint8_t *w, int64_t nb, int min, const vk_act_q8 *a, int nx,
                          float *out, int64_t ldout) {
    const int64_t stride = min ? sizeof(vk_block_q4_1) : sizeof(vk_block_q4_0);
    const int64_t qs = min ? offsetof(vk_block_q4_1, qs) : offsetof(vk_block_q4_0, qs);
    __m256 acc[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        __m256i u[8];
        for (int j = 0; j < 8; j++) u[j] = nibbles32(w + (i + j) * stride + qs);
        const __m256 d = f16x8(w + i * stride, stride, 0);
        const __m256 c = min ? f16x8(w + i * stride, stride, 2) : _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
        for (int r = 0; r < nx; r++) {
            __m256i p[8];
            for (int j = 0; j < 8; j++) p[j] = VK_Q8A_DOT32(u[j], load32(a[r].q + 32 * (i + j)));
            const __m256 t = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(hsum8x8_epi32(p)),
                                             _mm256_mul_ps(c, _mm256_cvtepi32_ps(block_sums8(a[r].s, i))));
            acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a[r].d + i), t, acc[r]);
        }
    }
    for (; i < nb; i++) {
        const uint8_t *blk = w + i * stride;
        const __m256i u = nibbles32(blk + qs);
        const float d = vk_f16c_load(blk), c = min ? vk_f16c_load(blk + 2) : -8.0f * d;
        for (int r = 0; r < nx; r++) {
            const float t = d * (float)hsum_epi32(VK_Q8A_DOT32(u, load32(a[r].q + 32 * i))) +
                            c * (float)(a[r].s[2 * i] + a[r].s[2 * i + 1]);
            acc[r] = _mm256_add_ps(acc[r], lane0(a[r].d[i] * t));
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(acc[r]);
}
VK_Q8A_INLINE void q4_0a_nx(const vk_block_q4_0 *b, int64_t nb, const vk_act_q8 *a, int nx,
                            float *out, int64_t ldout) {
    q4a_nx((const uint8_t *)b, nb, 0, a, nx, out, ldout);
}
VK_Q8A_INLINE void q4_1a_nx(const vk_block_q4_1 *b, int64_t nb, const vk_act_q8 *a, int nx,
                            float *out, int64_t ldout) {
    q4a_nx((const uint8_t *)b, nb, 1, a, nx, out, ldout);
}

// Q8_0: vpmaddubsw wants one unsigned side: |w| with w's sign moved onto x.
VK_Q8A_INLINE void q8_0a_nx(const vk_block_q8_0 *b, int64_t nb, const vk_act_q8 *a, int nx,
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

// ---- K-quants: a super-block spans 8 activation blocks ----

// Q4_K: sub-block s (32 elements) is activation block 8i + s:
// sum_s dx_s * (d*sc_s * sum q*x8 - dmin*m_s * sum x8).
VK_Q8A_INLINE void q4_Ka_nx(const vk_block_q4_K *b, int64_t nb, const vk_act_q8 *a, int nx,
                             float *out, int64_t ldout) {
    const __m256i m15 = _mm256_set1_epi8(15);
    __m256 acc[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[8];
        for (int j = 0; j < 4; j++) {
            const __m256i v = load32(b[i].qs + 32 * j);
            q[2 * j] = _mm256_and_si256(v, m15);
            q[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m15);
        }
        __m256 dsc, dmn;
        vk_k4_scales_f32(b[i].scales, &b[i].d, &b[i].dmin, &dsc, &dmn);
        for (int r = 0; r < nx; r++) {
            const int8_t *x8 = a[r].q + VK_QK_K * i;
            __m256i p[8];
            for (int s = 0; s < 8; s++) p[s] = VK_Q8A_DOT32(q[s], load32(x8 + 32 * s));
            const __m256 dx = _mm256_loadu_ps(a[r].d + 8 * i);
            const __m256 sums = _mm256_cvtepi32_ps(hsum8x8_epi32(p));
            const __m256 mins = _mm256_mul_ps(dmn, _mm256_cvtepi32_ps(block_sums8(a[r].s, 8 * i)));
            acc[r] = _mm256_fmadd_ps(dx, _mm256_fmsub_ps(dsc, sums, mins), acc[r]);
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(acc[r]);
}

// Q6_K: 32 elements u (activation block 8i + u) hold sub-blocks 2u and 2u + 1 with int8 scales:
// sum_u d * dx_u * (sum_16 sc * q * x8 - 32 * sum_16 sc * sum x8), all integer inside a block.
VK_Q8A_INLINE void q6_Ka_nx(const vk_block_q6_K *b, int64_t nb, const vk_act_q8 *a, int nx,
                             float *out, int64_t ldout) {
    const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
    // Spreads the 16-bit pair (sc_2u, sc_2u+1) held in every dword to [sc_2u x 8 | sc_2u+1 x 8].
    const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                            2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    __m256 acc[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[8], sc[8];
        for (int h = 0; h < 2; h++) {
            const __m256i lo = load32(b[i].ql + 64 * h), hi = load32(b[i].ql + 64 * h + 32);
            const __m256i qh = load32(b[i].qh + 32 * h);
            // Bits 2k, 2k+1 of qh become bits 4, 5 (16-bit shifts: the mask drops what crosses bytes).
            q[4 * h] = _mm256_or_si256(_mm256_and_si256(lo, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m48));
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(hi, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m48));
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo, 4), m15), _mm256_and_si256(qh, m48));
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(hi, 4), m15), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48));
        }
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b[i].scales));
        for (int u = 0; u < 8; u++)
            sc[u] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(u)), spread);
        const __m256 d = _mm256_set1_ps(vk_f16c_load(&b[i].d));
        for (int r = 0; r < nx; r++) {
            const int8_t *x8 = a[r].q + VK_QK_K * i;
            __m256i p[8];
            for (int u = 0; u < 8; u++)
                p[u] = _mm256_madd_epi16(_mm256_maddubs_epi16(q[u], load32(x8 + 32 * u)), sc[u]);
            // Lane u: sc_2u * sum x8 (first 16) + sc_2u+1 * sum x8 (second 16).
            const __m256i off = _mm256_madd_epi16(sc16, load32(a[r].s + 16 * i));
            const __m256i t = _mm256_sub_epi32(hsum8x8_epi32(p), _mm256_slli_epi32(off, 5));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_loadu_ps(a[r].d + 8 * i)), _mm256_cvtepi32_ps(t), acc[r]);
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(acc[r]);
}

// Separate (non-inlined) instances per type and row count so each gets its own registers.
typedef void (*vk_q8a_fn)(const void *w, int64_t nb, const vk_act_q8 *a, float *out, int64_t ldout);
#define VK_Q8A_INST(NAME, BLOCK, NX)                                                               \
    VK_Q8A_TARGET __attribute__((noinline)) static void NAME##_x##NX(const void *w, int64_t nb,    \
                                                                      const vk_act_q8 *a,          \
                                                                      float *out, int64_t ldout) { \
        NAME##_nx((const BLOCK *)w, nb, a, NX, out, ldout);                                        \
    }
#define VK_Q8A_INST4(NAME, BLOCK)                                                                  \
    VK_Q8A_INST(NAME, BLOCK, 1) VK_Q8A_INST(NAME, BLOCK, 2) VK_Q8A_INST(NAME, BLOCK, 3)            \
    VK_Q8A_INST(NAME, BLOCK, 4)                                                                    \
    static const vk_q8a_fn NAME##_fns[VK_MULTI_MAX] = {NAME##_x1, NAME##_x2, NAME##_x3, NAME##_x4};
VK_Q8A_INST4(q4_0a, vk_block_q4_0)
VK_Q8A_INST4(q4_1a, vk_block_q4_1)
VK_Q8A_INST4(q8_0a, vk_block_q8_0)
VK_Q8A_INST4(q4_Ka, vk_block_q4_K)
VK_Q8A_INST4(q6_Ka, vk_block_q6_K)

VK_Q8A_TARGET void VK_Q8A_ENTRY(int type, const void *w, int64_t n, const vk_act_q8 *a,
                                     int64_t nx, float *out, int64_t ldout) {
    if (n <= 0 || nx <= 0 || nx > VK_MULTI_MAX) return;
    switch (type) {
    case VK_TYPE_Q4_0: q4_0a_fns[nx - 1](w, n / VK_QK, a, out, ldout); return;
    case VK_TYPE_Q4_1: q4_1a_fns[nx - 1](w, n / VK_QK, a, out, ldout); return;
    case VK_TYPE_Q8_0: q8_0a_fns[nx - 1](w, n / VK_QK, a, out, ldout); return;
    case VK_TYPE_Q4_K: q4_Ka_fns[nx - 1](w, n / VK_QK_K, a, out, ldout); return;
    case VK_TYPE_Q6_K: q6_Ka_fns[nx - 1](w, n / VK_QK_K, a, out, ldout); return;
    // No int8 kernel for this type: the portable one, never a silent zero.
    default: vk_dot_q8act_multi_portable(type, w, n, a, nx, out, ldout); return;
    }
}
