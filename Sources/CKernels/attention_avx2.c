// AVX2 + FMA attention for head sizes that are multiples of 32, over K/V rows that a
// vk_kv_rows places (see attention_rows.h): paged or contiguous, one body for both. `paged`
// and `f16` (fp16 rather than float32 K/V) are compile-time constants in every always-inline
// helper, so each layout and storage type gets its own specialized copy of the loops.
// Query heads go in threes so each key and value row is read once per three heads: per
// position the kernel is then bound by FMAs rather than by loads. The hot loops keep every
// accumulator in a register (see VK_AFTER): one spilled accumulator puts a store-to-load
// round trip on its FMA chain every iteration, which costs more than the whole loop body.
#include <math.h>
#include "avx2_common.h"

#if VK_HAVE_AVX2
#ifndef PF_SCORES
#define PF_SCORES 1
#endif
#ifndef PF_WHOLE
#define PF_WHOLE 0
#endif
#ifndef PF_STEP
#define PF_STEP 64
#endif
#ifndef PF_HEAD
#define PF_HEAD 4
#endif
#ifndef PF_ROWS
#define PF_ROWS 4
#endif
#ifndef PF_VEVERY
#define PF_VEVERY 1
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif
#ifndef VTILE
#define VTILE INT64_MAX
#endif
#ifndef PF_VROW
#define PF_VROW hd
#endif
#ifndef PF_FLAT
#define PF_FLAT 0
#endif
#ifndef PF_VALUES
#define PF_VALUES 1
#endif

// 8 K/V elements at element offset `off` from `base`, as floats.
VK_AVX2_INLINE __m256 kv_load8(const void *base, int64_t off, const int f16) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + off)));
    return _mm256_loadu_ps((const float *)base + off);
}

// Every cache line of `count` elements at element offset `off` from `base`.
VK_AVX2_INLINE void prefetch_span(const void *base, int64_t off, int64_t count, const int f16) {
    const int64_t size = f16 ? 2 : 4;
    const char *p = (const char *)base + off * size;
    for (int64_t b = 0; b < count * size; b += PF_STEP) _mm_prefetch(p + b, PF_HINT);
}

// A copy of pointer `p` the compiler cannot see through, so loads through it are not merged
// with earlier loads of the same address. The inner kernels below reload small operands
// (query chunks, probabilities) rather than keep them in registers: with 12 accumulators that
// keeps them at 15 of the 16 ymm registers. At exactly 16 the register allocator spills an
// accumulator, which puts a store-to-load round trip on its FMA chain every iteration.
#define VK_OPAQUE(p) ({ __typeof__(p) vk_opaque_ = (p); __asm__("" : "+r"(vk_opaque_)); vk_opaque_; })

VK_AVX2 static float exp_shift_avx2(float *s, int64_t n, float mx) {
    const __m256 m = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 e = vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = vk_hsum256(acc);
    for (; j < n; j++) sum += (s[j] = expf(s[j] - mx));
    return sum;
}

VK_AVX2_INLINE float hmax128(__m128 m) {
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

VK_AVX2 static float max_avx2(const float *s, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
    float r = hmax128(_mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1)));
    for (; j < n; j++) if (s[j] > r) r = s[j];
    return r;
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

VK_AVX2_INLINE float dot_row_avx2(const float *q, const void *k, int64_t row, int64_t hd, const int f16) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(k, row + d, f16), a);
    return vk_hsum256(a);
}

// The 4 horizontal sums of a0..a3 as one vector.
VK_AVX2_INLINE __m128 hsum4_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

// Scores of 4 positions (rows at offsets r) for 3 query heads at once: each key chunk is
// loaded once and used by all three heads. Two positions' key chunks at a time, each query
// chunk loaded (from L1) for the pair it multiplies: 12 accumulators + 2 keys + 1 query.
VK_AVX2_INLINE void dot4x3_avx2(const float *q, int64_t hd, const void *k, const int64_t r[4], __m128 out[3],
                                const int f16) {
    const int64_t size = f16 ? 2 : 4;
    const char *k0 = (const char *)k + r[0] * size, *k1 = (const char *)k + r[1] * size;
    const char *k2 = (const char *)k + r[2] * size, *k3 = (const char *)k + r[3] * size;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00;
    __m256 a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int64_t d = 0; d < hd; d += 8) {
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

// Scores s[h * n + j] = q_h . k_j for all heads and positions (q is already scaled).
VK_AVX2_INLINE void scores_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int64_t n,
                                float *s, const int paged, const int f16) {
    const void *k = kv->k;
    const int64_t stride = kv->stride;
    int64_t h = 0;
    for (; h + 3 <= g; h += 3) {
        const float *qh = q + h * hd;
        float *s0 = s + h * n, *s1 = s0 + n, *s2 = s1 + n;
        vk_kv_cursor c = vk_kv_begin(kv, n);
        for (int64_t j = 0; j < n;) {
            int64_t len;
            int64_t r = vk_kv_run(&c, n - j, &len, paged);
            if (PF_SCORES == 2 && paged) prefetch_span(k, r + c.delta, PF_HEAD * 64 / (f16 ? 2 : 4), f16);
            const int64_t end = j + len;
            for (; j + 4 <= end; j += 4, r += 4 * stride) {
                // Blocks are too short for the hardware prefetcher to ramp up on before the
                // walk jumps elsewhere: fetch the same rows of the next block now (a paged
                // block's rows are adjacent, stride == hd).
                if (PF_SCORES == 1 && paged) prefetch_span(k, r + c.delta, PF_ROWS * hd, f16);
                if (PF_FLAT && !paged) prefetch_span(k, r + PF_FLAT * stride, PF_ROWS * hd, f16);
                const int64_t rows[4] = {r, r + stride, r + 2 * stride, r + 3 * stride};
                __m128 d[3];
                dot4x3_avx2(qh, hd, k, rows, d, f16);
                _mm_storeu_ps(s0 + j, d[0]);
                _mm_storeu_ps(s1 + j, d[1]);
                _mm_storeu_ps(s2 + j, d[2]);
            }
            for (; j < end; j++, r += stride) {
                s0[j] = dot_row_avx2(qh, k, r, hd, f16);
                s1[j] = dot_row_avx2(qh + hd, k, r, hd, f16);
                s2[j] = dot_row_avx2(qh + 2 * hd, k, r, hd, f16);
            }
        }
    }
    for (; h < g; h++) {
        const float *qh = q + h * hd;
        float *sh = s + h * n;
        vk_kv_cursor c = vk_kv_begin(kv, n);
        for (int64_t j = 0; j < n;) {
            int64_t len;
            int64_t r = vk_kv_run(&c, n - j, &len, paged);
            const int64_t end = j + len;
            for (; j + 8 <= end; j += 8, r += 8 * stride) {
                if (PF_SCORES && paged) prefetch_span(k, r + c.delta, 8 * hd, f16);
                const int64_t rows[8] = {r, r + stride, r + 2 * stride, r + 3 * stride,
                                         r + 4 * stride, r + 5 * stride, r + 6 * stride, r + 7 * stride};
                _mm256_storeu_ps(sh + j, dot8_avx2(qh, k, rows, hd, f16));
            }
            for (; j < end; j++, r += stride) sh[j] = dot_row_avx2(qh, k, r, hd, f16);
        }
    }
}

// Runs of a tile: up to VK_TILE_RUNS runs of consecutive rows (blocks, when paged).
#ifndef VK_TILE_RUNS
#define VK_TILE_RUNS 4
#endif
typedef struct {
    int64_t off[VK_TILE_RUNS], len[VK_TILE_RUNS], ahead[VK_TILE_RUNS];
    int runs;
    int64_t count;
} vk_tile;

// Takes up to VK_TILE_RUNS runs, at most `max` positions in all. A contiguous walk gives one run.
VK_AVX2_INLINE void tile_take(vk_kv_cursor *c, int64_t max, vk_tile *t, const int paged) {
    t->runs = 0;
    t->count = 0;
    while (t->runs < VK_TILE_RUNS && t->count < max) {
        const int i = t->runs++;
        t->off[i] = vk_kv_run(c, max - t->count, &t->len[i], paged);
        t->ahead[i] = c->delta;
        t->count += t->len[i];
    }
}

// o_h[d0, d0 + 32) += sum_j p_h[j] * v_j[d0, d0 + 32) over the tile's positions, for 3 heads:
// each value chunk is loaded once for the three heads; 12 independent accumulator chains.
// That is 12 accumulators, 3 broadcast probabilities and the value chunk in the 16 ymm
// registers, hence VK_AFTER. `prefetch`: elements of each row one block ahead to prefetch.
VK_AVX2_INLINE void values3_tile(const float *p, int64_t pn, const vk_tile *t, const void *v, int64_t stride,
                                 int64_t d0, float *o0, float *o1, float *o2, int64_t hd, const int first,
                                 const int paged, const int f16) {
    __m256 a00 = _mm256_loadu_ps(o0 + d0), a01 = _mm256_loadu_ps(o0 + d0 + 8);
    __m256 a02 = _mm256_loadu_ps(o0 + d0 + 16), a03 = _mm256_loadu_ps(o0 + d0 + 24);
    __m256 a10 = _mm256_loadu_ps(o1 + d0), a11 = _mm256_loadu_ps(o1 + d0 + 8);
    __m256 a12 = _mm256_loadu_ps(o1 + d0 + 16), a13 = _mm256_loadu_ps(o1 + d0 + 24);
    __m256 a20 = _mm256_loadu_ps(o2 + d0), a21 = _mm256_loadu_ps(o2 + d0 + 8);
    __m256 a22 = _mm256_loadu_ps(o2 + d0 + 16), a23 = _mm256_loadu_ps(o2 + d0 + 24);
    int64_t j = 0;
    for (int i = 0; i < t->runs; i++) {
        int64_t r = t->off[i] + d0;
        const int64_t ahead = paged ? t->ahead[i] : PF_FLAT * stride;
        for (const int64_t end = j + t->len[i]; j < end; j++, r += stride) {
            if (PF_WHOLE && paged) {
                if (first) for (int64_t s = 0; s < hd; s += 32) prefetch_span(v, r + ahead + s, 32, f16);
            } else if (paged ? PF_VALUES != 0 : PF_FLAT != 0) prefetch_span(v, r + ahead, 32, f16);
            const char *row = (const char *)v + r * (f16 ? 2 : 4);
            // Two value chunks at a time; each head's probability broadcast for the pair it
            // scales: 12 accumulators + 2 chunks + 1 broadcast.
            const float *pa = p + j, *pb = VK_OPAQUE(pa);
            __m256 x = kv_load8(row, 0, f16), y = kv_load8(row, 8, f16), b = _mm256_broadcast_ss(pa);
            a00 = _mm256_fmadd_ps(b, x, a00); a01 = _mm256_fmadd_ps(b, y, a01);
            b = _mm256_broadcast_ss(pa + pn);
            a10 = _mm256_fmadd_ps(b, x, a10); a11 = _mm256_fmadd_ps(b, y, a11);
            b = _mm256_broadcast_ss(pa + 2 * pn);
            a20 = _mm256_fmadd_ps(b, x, a20); a21 = _mm256_fmadd_ps(b, y, a21);
            x = kv_load8(row, 16, f16), y = kv_load8(row, 24, f16), b = _mm256_broadcast_ss(pb);
            a02 = _mm256_fmadd_ps(b, x, a02); a03 = _mm256_fmadd_ps(b, y, a03);
            b = _mm256_broadcast_ss(pb + pn);
            a12 = _mm256_fmadd_ps(b, x, a12); a13 = _mm256_fmadd_ps(b, y, a13);
            b = _mm256_broadcast_ss(pb + 2 * pn);
            a22 = _mm256_fmadd_ps(b, x, a22); a23 = _mm256_fmadd_ps(b, y, a23);
        }
    }
    _mm256_storeu_ps(o0 + d0, a00); _mm256_storeu_ps(o0 + d0 + 8, a01);
    _mm256_storeu_ps(o0 + d0 + 16, a02); _mm256_storeu_ps(o0 + d0 + 24, a03);
    _mm256_storeu_ps(o1 + d0, a10); _mm256_storeu_ps(o1 + d0 + 8, a11);
    _mm256_storeu_ps(o1 + d0 + 16, a12); _mm256_storeu_ps(o1 + d0 + 24, a13);
    _mm256_storeu_ps(o2 + d0, a20); _mm256_storeu_ps(o2 + d0 + 8, a21);
    _mm256_storeu_ps(o2 + d0 + 16, a22); _mm256_storeu_ps(o2 + d0 + 24, a23);
}

// out_h = sum_j p_h[j] * v_j for 3 heads, a 32-dim slice at a time. A contiguous V is one tile:
// one pass over all positions per slice. A paged V goes a tile of a few blocks at a time, all
// slices of a tile back to back, so each block is read whole and in order while it is in L1:
// reading one slice of every block per pass instead reads every other cache line of each
// block, which leads the hardware prefetchers past the block's end into other heads' rows.
VK_AVX2_INLINE void values3_avx2(const float *p, int64_t n, int64_t hd, const vk_kv_rows *kv, float *o,
                                 const int paged, const int f16) {
    float *o0 = o, *o1 = o + hd, *o2 = o + 2 * hd;
    for (int64_t d = 0; d < 3 * hd; d++) o[d] = 0;
    vk_kv_cursor c = vk_kv_begin(kv, n);
    for (int64_t j = 0; j < n;) {
        vk_tile t;
        tile_take(&c, n - j, &t, paged);
        values3_tile(p + j, n, &t, kv->v, kv->stride, 0, o0, o1, o2, hd, 1, paged, f16);
        for (int64_t d0 = 32; d0 < hd; d0 += 32)
            values3_tile(p + j, n, &t, kv->v, kv->stride, d0, o0, o1, o2, hd, 0, paged, f16);
        j += t.count;
    }
}

// The same for one head, two positions per step so that 8 chains hide the FMA latency.
VK_AVX2_INLINE void values1_avx2(const float *p, int64_t n, const vk_kv_rows *kv, int64_t d0, float *o,
                                 const int paged, const int f16) {
    const void *v = kv->v;
    const int64_t stride = kv->stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    vk_kv_cursor c = vk_kv_begin(kv, n);
    for (int64_t j = 0; j < n;) {
        int64_t len;
        int64_t va = vk_kv_run(&c, n - j, &len, paged) + d0;
        const int64_t end = j + len;
        for (; j + 2 <= end; j += 2, va += 2 * stride) {
            const int64_t vb = va + stride;
            if (PF_VALUES && paged) {
                prefetch_span(v, va + c.delta, 32, f16);
                prefetch_span(v, vb + c.delta, 32, f16);
            }
            const __m256 pa = _mm256_broadcast_ss(p + j), pb = _mm256_broadcast_ss(p + j + 1);
            a0 = _mm256_fmadd_ps(pa, kv_load8(v, va, f16), a0);
            a1 = _mm256_fmadd_ps(pa, kv_load8(v, va + 8, f16), a1);
            a2 = _mm256_fmadd_ps(pa, kv_load8(v, va + 16, f16), a2);
            a3 = _mm256_fmadd_ps(pa, kv_load8(v, va + 24, f16), a3);
            b0 = _mm256_fmadd_ps(pb, kv_load8(v, vb, f16), b0);
            b1 = _mm256_fmadd_ps(pb, kv_load8(v, vb + 8, f16), b1);
            b2 = _mm256_fmadd_ps(pb, kv_load8(v, vb + 16, f16), b2);
            b3 = _mm256_fmadd_ps(pb, kv_load8(v, vb + 24, f16), b3);
        }
        if (j < end) {
            const __m256 pa = _mm256_broadcast_ss(p + j);
            a0 = _mm256_fmadd_ps(pa, kv_load8(v, va, f16), a0);
            a1 = _mm256_fmadd_ps(pa, kv_load8(v, va + 8, f16), a1);
            a2 = _mm256_fmadd_ps(pa, kv_load8(v, va + 16, f16), a2);
            a3 = _mm256_fmadd_ps(pa, kv_load8(v, va + 24, f16), a3);
            j++;
        }
    }
    _mm256_storeu_ps(o + d0, _mm256_add_ps(a0, b0));
    _mm256_storeu_ps(o + d0 + 8, _mm256_add_ps(a1, b1));
    _mm256_storeu_ps(o + d0 + 16, _mm256_add_ps(a2, b2));
    _mm256_storeu_ps(o + d0 + 24, _mm256_add_ps(a3, b3));
}

VK_AVX2_INLINE void attention_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int64_t n,
                                   float scale, float *scores, float *out, float *mx, float *sum,
                                   const int paged, const int f16) {
    // The scale goes on the query once rather than on every score, and the maxima come from
    // a pass of their own: either, kept in the score loop, would hold registers it needs.
    float qs[g * hd];
    const __m256 sv = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < g * hd; i += 8) _mm256_storeu_ps(qs + i, _mm256_mul_ps(_mm256_loadu_ps(q + i), sv));
    scores_avx2(qs, g, hd, kv, n, scores, paged, f16);
    for (int64_t h = 0; h < g; h++) {
        mx[h] = max_avx2(scores + h * n, n);
        sum[h] = exp_shift_avx2(scores + h * n, n, mx[h]);
    }
    int64_t h = 0;
    for (; h + 3 <= g; h += 3) {
        const float *p = scores + h * n;
        values3_avx2(p, n, hd, kv, out + h * hd, paged, f16);
    }
    for (; h < g; h++)
        for (int64_t d0 = 0; d0 < hd; d0 += 32) values1_avx2(scores + h * n, n, kv, d0, out + h * hd, paged, f16);
    for (h = 0; h < g; h++) {
        const __m256 inv = _mm256_set1_ps(1.0f / sum[h]);
        for (int64_t d = 0; d < hd; d += 8)
            _mm256_storeu_ps(out + h * hd + d, _mm256_mul_ps(_mm256_loadu_ps(out + h * hd + d), inv));
    }
}

VK_AVX2 void vk_attention_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int kv_type,
                               int64_t n, float scale, float *scores, float *out, float *mx, float *sum) {
    const int f16 = kv_type == VK_TYPE_F16;
    if (kv->table) {
        if (f16) attention_avx2(q, g, hd, kv, n, scale, scores, out, mx, sum, 1, 1);
        else attention_avx2(q, g, hd, kv, n, scale, scores, out, mx, sum, 1, 0);
    } else {
        if (f16) attention_avx2(q, g, hd, kv, n, scale, scores, out, mx, sum, 0, 1);
        else attention_avx2(q, g, hd, kv, n, scale, scores, out, mx, sum, 0, 0);
    }
}

#endif
