// The AVX2 + FMA inner kernels of attention (attention_avx2.c): fixed amounts of work on rows
// at given offsets, shared by the paged and the contiguous walks. `f16` (fp16 rather than
// float32 K/V) is a compile-time constant at every call, so each storage type gets its own copy.
#ifndef CKERNELS_ATTENTION_KERNELS_AVX2_H
#define CKERNELS_ATTENTION_KERNELS_AVX2_H

#include "avx2_common.h"

#if VK_HAVE_AVX2

// A copy of pointer `p` the compiler cannot see through, so loads through it are not merged
// with earlier loads of the same address. The 3-head kernels reload small operands (query
// chunks, probabilities) rather than keep them in registers: with their 12 accumulators that
// uses 15 of the 16 ymm registers. At exactly 16 the register allocator spills an accumulator,
// which puts a store-to-load round trip on its FMA chain every iteration and, measured, cost
// both layouts a third of their speed.
#define VK_OPAQUE(p) ({ __typeof__(p) vk_opaque_ = (p); __asm__("" : "+r"(vk_opaque_)); vk_opaque_; })

// 8 K/V elements at element offset `off` from `base`, as floats.
VK_AVX2_INLINE __m256 kv_load8(const void *base, int64_t off, const int f16) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + off)));
    return _mm256_loadu_ps((const float *)base + off);
}

// Every cache line of `count` elements at element offset `off` from `base`.
VK_AVX2_INLINE void prefetch_span(const void *base, int64_t off, int64_t count, const int f16) {
    const int64_t size = f16 ? 2 : 4;
    const char *p = (const char *)base + off * size;
    for (int64_t b = 0; b < count * size; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

// The 4 horizontal sums of a0..a3 as one vector.
VK_AVX2_INLINE __m128 hsum4_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

VK_AVX2_INLINE float dot_row_avx2(const float *q, const void *k, int64_t row, int64_t hd, const int f16) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(k, row + d, f16), a);
    return vk_hsum256(a);
}

// Scores of 4 positions (rows at offsets r) for 3 query heads (q: 3 x hd): each key chunk is
// loaded once for all three heads. Two positions' key chunks at a time, each query chunk
// loaded (from L1) for the pair it multiplies: 12 accumulators + 2 keys + 1 query.
// With `prefetch`, also prefetches the 4 x hd elements at `pf` (4 adjacent rows), spread over
// the loop: each step takes 8 elements of 4 rows, 32 elements of the span, a line or two.
VK_AVX2_INLINE void dot4x3_avx2(const float *q, int64_t hd, const void *k, const int64_t r[4], __m128 out[3],
                                const char *pf, const int prefetch, const int f16) {
    const int64_t size = f16 ? 2 : 4;
    const char *k0 = (const char *)k + r[0] * size, *k1 = (const char *)k + r[1] * size;
    const char *k2 = (const char *)k + r[2] * size, *k3 = (const char *)k + r[3] * size;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00;
    __m256 a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int64_t d = 0; d < hd; d += 8) {
        if (prefetch) {
            _mm_prefetch(pf + 4 * size * d, _MM_HINT_T0);
            if (!f16) _mm_prefetch(pf + 4 * size * d + 64, _MM_HINT_T0);
        }
        const float *qa = q + d, *qb = VK_OPAQUE(qa);
        __m256 x = kv_load8(k0, d, f16), y = kv_load8(k1, d, f16), w = _mm256_loadu_ps(qa);
        a00 = _mm256_fmadd_ps(w, x, a00); a01 = _mm256_fmadd_ps(w, y, a01);
        w = _mm256_loadu_ps(qa + hd);
        a10 = _mm256_fmadd_ps(w, x, a10); a11 = _mm256_fmadd_ps(w, y, a11);
        w = _mm256_loadu_ps(qa + 2 * hd);
        a20 = _mm256_fmadd_ps(w, x, a20); a21 = _mm256_fmadd_ps(w, y, a21);
        x = kv_load8(k2, d, f16), y = kv_load8(k3, d, f16), w = _mm256_loadu_ps(qb);
        a02 = _mm256_fmadd_ps(w, x, a02); a03 = _mm256_fmadd_ps(w, y, a03);
        w = _mm256_loadu_ps(qb + hd);
        a12 = _mm256_fmadd_ps(w, x, a12); a13 = _mm256_fmadd_ps(w, y, a13);
        w = _mm256_loadu_ps(qb + 2 * hd);
        a22 = _mm256_fmadd_ps(w, x, a22); a23 = _mm256_fmadd_ps(w, y, a23);
    }
    out[0] = hsum4_avx2(a00, a01, a02, a03);
    out[1] = hsum4_avx2(a10, a11, a12, a13);
    out[2] = hsum4_avx2(a20, a21, a22, a23);
}

// Dot products of one query head with the key rows of 8 positions: 8 independent accumulator
// chains (one per position) walk the head dimension together, then one reduction turns the 8
// vectors into a vector of the 8 sums. Reducing per position instead costs more than the dot.
VK_AVX2_INLINE __m256 dot8_avx2(const float *q, const void *k, const int64_t r[8], int64_t hd, const int f16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t d = 0; d < hd; d += 8) {
        const __m256 qd = _mm256_loadu_ps(q + d);
        a0 = _mm256_fmadd_ps(qd, kv_load8(k, r[0] + d, f16), a0);
        a1 = _mm256_fmadd_ps(qd, kv_load8(k, r[1] + d, f16), a1);
        a2 = _mm256_fmadd_ps(qd, kv_load8(k, r[2] + d, f16), a2);
        a3 = _mm256_fmadd_ps(qd, kv_load8(k, r[3] + d, f16), a3);
        a4 = _mm256_fmadd_ps(qd, kv_load8(k, r[4] + d, f16), a4);
        a5 = _mm256_fmadd_ps(qd, kv_load8(k, r[5] + d, f16), a5);
        a6 = _mm256_fmadd_ps(qd, kv_load8(k, r[6] + d, f16), a6);
        a7 = _mm256_fmadd_ps(qd, kv_load8(k, r[7] + d, f16), a7);
    }
    // Pairwise sums within 128-bit lanes leave, per lane, one partial sum per position.
    const __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
    const __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// 12 accumulators: a 32-float slice of the outputs of 3 heads.
typedef struct {
    __m256 a[3][4];
} vk_acc3;

VK_AVX2_INLINE void acc3_load(vk_acc3 *acc, const float *o, int64_t hd) {
    for (int h = 0; h < 3; h++)
        for (int c = 0; c < 4; c++) acc->a[h][c] = _mm256_loadu_ps(o + h * hd + 8 * c);
}

VK_AVX2_INLINE void acc3_store(const vk_acc3 *acc, float *o, int64_t hd) {
    for (int h = 0; h < 3; h++)
        for (int c = 0; c < 4; c++) _mm256_storeu_ps(o + h * hd + 8 * c, acc->a[h][c]);
}

// acc_h += p[h * pn] * (32 values at element offset `r` of v) for the 3 heads: each value
// chunk is loaded once for the three heads. Two value chunks at a time, each head's
// probability broadcast for the pair it scales: 12 accumulators + 2 chunks + 1 broadcast.
VK_AVX2_INLINE void values3_row(vk_acc3 *acc, const float *p, int64_t pn, const void *v, int64_t r, const int f16) {
    const char *row = (const char *)v + r * (f16 ? 2 : 4);
    const float *pa = p, *pb = VK_OPAQUE(pa);
    __m256 x = kv_load8(row, 0, f16), y = kv_load8(row, 8, f16), b = _mm256_broadcast_ss(pa);
    acc->a[0][0] = _mm256_fmadd_ps(b, x, acc->a[0][0]); acc->a[0][1] = _mm256_fmadd_ps(b, y, acc->a[0][1]);
    b = _mm256_broadcast_ss(pa + pn);
    acc->a[1][0] = _mm256_fmadd_ps(b, x, acc->a[1][0]); acc->a[1][1] = _mm256_fmadd_ps(b, y, acc->a[1][1]);
    b = _mm256_broadcast_ss(pa + 2 * pn);
    acc->a[2][0] = _mm256_fmadd_ps(b, x, acc->a[2][0]); acc->a[2][1] = _mm256_fmadd_ps(b, y, acc->a[2][1]);
    x = kv_load8(row, 16, f16), y = kv_load8(row, 24, f16), b = _mm256_broadcast_ss(pb);
    acc->a[0][2] = _mm256_fmadd_ps(b, x, acc->a[0][2]); acc->a[0][3] = _mm256_fmadd_ps(b, y, acc->a[0][3]);
    b = _mm256_broadcast_ss(pb + pn);
    acc->a[1][2] = _mm256_fmadd_ps(b, x, acc->a[1][2]); acc->a[1][3] = _mm256_fmadd_ps(b, y, acc->a[1][3]);
    b = _mm256_broadcast_ss(pb + 2 * pn);
    acc->a[2][2] = _mm256_fmadd_ps(b, x, acc->a[2][2]); acc->a[2][3] = _mm256_fmadd_ps(b, y, acc->a[2][3]);
}

// 8 accumulators for one head's 32-float output slice: a (even positions) and b (odd), so that
// 8 chains hide the FMA latency.
typedef struct {
    __m256 a[4], b[4];
} vk_acc1;

// acc += pa * (32 values at offset ra) [+ pb * (32 values at offset rb), when `two`].
VK_AVX2_INLINE void values1_rows(vk_acc1 *acc, float pa, int64_t ra, float pb, int64_t rb, const void *v,
                                 const int two, const int f16) {
    const __m256 ba = _mm256_set1_ps(pa), bb = _mm256_set1_ps(pb);
    for (int c = 0; c < 4; c++) {
        acc->a[c] = _mm256_fmadd_ps(ba, kv_load8(v, ra + 8 * c, f16), acc->a[c]);
        if (two) acc->b[c] = _mm256_fmadd_ps(bb, kv_load8(v, rb + 8 * c, f16), acc->b[c]);
    }
}

#endif
#endif
