// AVX2 + FMA attention for head sizes that are multiples of 32, over K/V rows that a
// vk_kv_rows places (attention_rows.h): one body for the paged cache and for a contiguous
// array. `layout` and `f16` are compile-time constants in every always-inline function below,
// so each layout and storage type gets its own specialized copy of the loops: a contiguous
// walk is then pointer increments, and a paged one the same loops restarted once per block.
// Query heads go in threes so each key and value row is read once per three heads: per
// position the kernel is then bound by FMAs rather than by loads.
#include <math.h>
#include "attention_kernels_avx2.h"

#if VK_HAVE_AVX2

// Layouts: contiguous (the hardware prefetcher follows it), contiguous with software
// prefetches kv->prefetch rows ahead, and paged.
enum { VK_FLAT = 0, VK_FLAT_PREFETCH = 1, VK_PAGED = 2 };

// Values are accumulated a tile of this many blocks at a time (see values3_avx2).
#define VK_TILE_BLOCKS 4

// Where the rows to prefetch are, relative to the current ones: a paged block's rows are too
// few for the hardware prefetcher to ramp up on before the walk jumps elsewhere, so the walk
// fetches the same rows of the next block while it reads these.
VK_AVX2_INLINE int64_t prefetch_delta(const vk_kv_cursor *c, const vk_kv_rows *kv, const int layout) {
    return layout == VK_PAGED ? c->delta : kv->prefetch * kv->stride;
}

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

VK_AVX2 static float max_avx2(const float *s, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    float r = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    for (; j < n; j++) if (s[j] > r) r = s[j];
    return r;
}

// Scores s[h * n + j] = q_h . k_j of 3 heads (q is already scaled), 4 positions at a time.
VK_AVX2_INLINE void scores3_avx2(const float *q, int64_t hd, const vk_kv_rows *kv, int64_t n, float *s,
                                 const int layout, const int f16) {
    const void *k = kv->k;
    const int64_t stride = kv->stride;
    vk_kv_cursor c = vk_kv_begin(kv, n);
    for (int64_t j = 0; j < n;) {
        int64_t len;
        int64_t r = vk_kv_run(&c, n - j, &len, layout == VK_PAGED);
        const int64_t ahead = prefetch_delta(&c, kv, layout), end = j + len;
        for (; j + 4 <= end; j += 4, r += 4 * stride) {
            // The next 4 rows of the layout, when stride == hd (always, when paged).
            const char *pf = (const char *)k + (r + ahead) * (f16 ? 2 : 4);
            const int64_t rows[4] = {r, r + stride, r + 2 * stride, r + 3 * stride};
            __m128 d[3];
            dot4x3_avx2(q, hd, k, rows, d, pf, layout != VK_FLAT, f16);
            for (int t = 0; t < 3; t++) _mm_storeu_ps(s + t * n + j, d[t]);
        }
        for (; j < end; j++, r += stride)
            for (int t = 0; t < 3; t++) s[t * n + j] = dot_row_avx2(q + t * hd, k, r, hd, f16);
    }
}

// The same for one head, 8 positions at a time.
VK_AVX2_INLINE void scores1_avx2(const float *q, int64_t hd, const vk_kv_rows *kv, int64_t n, float *s,
                                 const int layout, const int f16) {
    const void *k = kv->k;
    const int64_t stride = kv->stride;
    vk_kv_cursor c = vk_kv_begin(kv, n);
    for (int64_t j = 0; j < n;) {
        int64_t len;
        int64_t r = vk_kv_run(&c, n - j, &len, layout == VK_PAGED);
        const int64_t ahead = prefetch_delta(&c, kv, layout), end = j + len;
        for (; j + 8 <= end; j += 8, r += 8 * stride) {
            if (layout != VK_FLAT) prefetch_span(k, r + ahead, 7 * stride + hd, f16);
            int64_t rows[8];
            for (int t = 0; t < 8; t++) rows[t] = r + t * stride;
            _mm256_storeu_ps(s + j, dot8_avx2(q, k, rows, hd, f16));
        }
        for (; j < end; j++, r += stride) s[j] = dot_row_avx2(q, k, r, hd, f16);
    }
}

// Up to VK_TILE_BLOCKS runs of the walk (all of it, when contiguous), and where to prefetch
// for each.
typedef struct {
    int64_t off[VK_TILE_BLOCKS], len[VK_TILE_BLOCKS], ahead[VK_TILE_BLOCKS];
    int runs;
    int64_t count;
} vk_tile;

VK_AVX2_INLINE void tile_take(vk_kv_cursor *c, const vk_kv_rows *kv, int64_t max, vk_tile *t, const int layout) {
    t->runs = 0;
    t->count = 0;
    while (t->runs < VK_TILE_BLOCKS && t->count < max) {
        const int i = t->runs++;
        t->off[i] = vk_kv_run(c, max - t->count, &t->len[i], layout == VK_PAGED);
        t->ahead[i] = prefetch_delta(c, kv, layout);
        t->count += t->len[i];
    }
}

// o_h = sum_j p_h[j] * v_j for 3 heads (p: 3 rows of n, o: 3 x hd), a 32-float slice at a time.
// A contiguous V is one tile: one pass over all positions per slice. A paged V goes a tile of
// a few blocks at a time, all slices of a tile back to back: one slice of every block per pass
// instead reads every other cache line of a block, which at the block's end leads the hardware
// prefetchers into other heads' rows (measured: the pass ~20% slower than contiguous, not ~5%).
VK_AVX2_INLINE void values3_avx2(const float *p, int64_t n, int64_t hd, const vk_kv_rows *kv, float *o,
                                 const int layout, const int f16) {
    const void *v = kv->v;
    const int64_t stride = kv->stride;
    for (int64_t d = 0; d < 3 * hd; d++) o[d] = 0;
    vk_kv_cursor c = vk_kv_begin(kv, n);
    for (int64_t j0 = 0; j0 < n;) {
        vk_tile t;
        tile_take(&c, kv, n - j0, &t, layout);
        for (int64_t d0 = 0; d0 < hd; d0 += 32) {
            vk_acc3 acc;
            acc3_load(&acc, o + d0, hd);
            int64_t j = j0;
            for (int i = 0; i < t.runs; i++) {
                int64_t r = t.off[i] + d0;
                for (const int64_t end = j + t.len[i]; j < end; j++, r += stride) {
                    if (layout != VK_FLAT) prefetch_span(v, r + t.ahead[i], 32, f16);
                    values3_row(&acc, p + j, n, v, r, f16);
                }
            }
            acc3_store(&acc, o + d0, hd);
        }
        j0 += t.count;
    }
}

// o = sum_j p[j] * v_j for one head, a 32-float slice per pass, two positions per step.
VK_AVX2_INLINE void values1_avx2(const float *p, int64_t n, int64_t hd, const vk_kv_rows *kv, float *o,
                                 const int layout, const int f16) {
    const void *v = kv->v;
    const int64_t stride = kv->stride;
    for (int64_t d0 = 0; d0 < hd; d0 += 32) {
        vk_acc1 acc;
        for (int i = 0; i < 4; i++) acc.a[i] = acc.b[i] = _mm256_setzero_ps();
        vk_kv_cursor c = vk_kv_begin(kv, n);
        for (int64_t j = 0; j < n;) {
            int64_t len;
            int64_t r = vk_kv_run(&c, n - j, &len, layout == VK_PAGED) + d0;
            const int64_t ahead = prefetch_delta(&c, kv, layout), end = j + len;
            for (; j + 2 <= end; j += 2, r += 2 * stride) {
                if (layout != VK_FLAT) {
                    prefetch_span(v, r + ahead, 32, f16);
                    prefetch_span(v, r + stride + ahead, 32, f16);
                }
                values1_rows(&acc, p[j], r, p[j + 1], r + stride, v, 1, f16);
            }
            if (j < end) values1_rows(&acc, p[j++], r, 0, 0, v, 0, f16);
        }
        for (int i = 0; i < 4; i++) _mm256_storeu_ps(o + d0 + 8 * i, _mm256_add_ps(acc.a[i], acc.b[i]));
    }
}

VK_AVX2_INLINE void attention_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int64_t n,
                                   float scale, float softcap, float *scores, float *out, float *mx, float *sum,
                                   const int layout, const int f16) {
    // The scale goes on the query once rather than on every score, and the maxima come from
    // a pass of their own: either, kept in the score loop, would hold registers it needs.
    float qs[g * hd];
    const __m256 sv = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < g * hd; i += 8) _mm256_storeu_ps(qs + i, _mm256_mul_ps(_mm256_loadu_ps(q + i), sv));
    int64_t h = 0;
    for (; h + 3 <= g; h += 3) scores3_avx2(qs + h * hd, hd, kv, n, scores + h * n, layout, f16);
    for (; h < g; h++) scores1_avx2(qs + h * hd, hd, kv, n, scores + h * n, layout, f16);
    for (h = 0; h < g; h++) {
        if (softcap > 0) vk_softcap_avx2(scores + h * n, n, softcap);
        mx[h] = max_avx2(scores + h * n, n);
        sum[h] = exp_shift_avx2(scores + h * n, n, mx[h]);
    }
    for (h = 0; h + 3 <= g; h += 3) values3_avx2(scores + h * n, n, hd, kv, out + h * hd, layout, f16);
    for (; h < g; h++) values1_avx2(scores + h * n, n, hd, kv, out + h * hd, layout, f16);
    for (h = 0; h < g; h++) {
        const __m256 inv = _mm256_set1_ps(1.0f / sum[h]);
        for (int64_t d = 0; d < hd; d += 8)
            _mm256_storeu_ps(out + h * hd + d, _mm256_mul_ps(_mm256_loadu_ps(out + h * hd + d), inv));
    }
}

VK_AVX2 void vk_attention_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int kv_type,
                               int64_t n, float scale, float softcap, float *scores, float *out, float *mx,
                               float *sum) {
    const int layout = kv->table ? VK_PAGED : kv->prefetch > 0 ? VK_FLAT_PREFETCH : VK_FLAT;
#define VK_ATTENTION(L, F) attention_avx2(q, g, hd, kv, n, scale, softcap, scores, out, mx, sum, L, F)
    if (kv_type == VK_TYPE_F16) {
        if (layout == VK_PAGED) VK_ATTENTION(VK_PAGED, 1);
        else if (layout == VK_FLAT_PREFETCH) VK_ATTENTION(VK_FLAT_PREFETCH, 1);
        else VK_ATTENTION(VK_FLAT, 1);
    } else {
        if (layout == VK_PAGED) VK_ATTENTION(VK_PAGED, 0);
        else if (layout == VK_FLAT_PREFETCH) VK_ATTENTION(VK_FLAT_PREFETCH, 0);
        else VK_ATTENTION(VK_FLAT, 0);
    }
#undef VK_ATTENTION
}

#endif
