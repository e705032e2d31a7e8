// AVX2 + FMA attention for head sizes that are multiples of 32, over rows given as offsets
// (see attention.c). Query heads go in threes so each key and value row is read once per
// three heads: per position the kernel is then bound by FMAs rather than by loads.
// K/V rows are float32 or IEEE fp16 (`f16`, a compile-time constant in every always-inline
// helper below, so each storage type gets its own specialized copy of the loops).
#include <math.h>
#include "avx2_common.h"

#if VK_HAVE_AVX2

// 8 K/V elements at element offset `off` from `base`, as floats.
VK_AVX2_INLINE __m256 kv_load8(const void *base, int64_t off, const int f16) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + off)));
    return _mm256_loadu_ps((const float *)base + off);
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

// Dot products of one query head with the key rows of 8 positions: 8 independent accumulator
// chains (one per position) walk the head dimension together, then one reduction turns the 8
// vectors into a vector of the 8 sums. Reducing per position instead costs more than the dot.
VK_AVX2_INLINE __m256 dot8_rows_avx2(const float *q, const void *k, const int64_t *rows, int64_t hd,
                                      const int f16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t d = 0; d < hd; d += 8) {
        const __m256 qd = _mm256_loadu_ps(q + d);
        a0 = _mm256_fmadd_ps(qd, kv_load8(k, rows[0] + d, f16), a0);
        a1 = _mm256_fmadd_ps(qd, kv_load8(k, rows[1] + d, f16), a1);
        a2 = _mm256_fmadd_ps(qd, kv_load8(k, rows[2] + d, f16), a2);
        a3 = _mm256_fmadd_ps(qd, kv_load8(k, rows[3] + d, f16), a3);
        a4 = _mm256_fmadd_ps(qd, kv_load8(k, rows[4] + d, f16), a4);
        a5 = _mm256_fmadd_ps(qd, kv_load8(k, rows[5] + d, f16), a5);
        a6 = _mm256_fmadd_ps(qd, kv_load8(k, rows[6] + d, f16), a6);
        a7 = _mm256_fmadd_ps(qd, kv_load8(k, rows[7] + d, f16), a7);
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

VK_AVX2_INLINE float hmax128(__m128 m) {
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// Scores of 4 positions for 3 query heads at once: each key chunk is loaded once and used by
// all three heads (12 accumulators, 3 query chunks, 1 key chunk: the 16 ymm registers).
VK_AVX2_INLINE void dot4x3_rows_avx2(const float *q, int64_t hd, const void *k, const int64_t *rows,
                                     __m128 out[3], const int f16) {
    const float *q0 = q, *q1 = q + hd, *q2 = q + 2 * hd;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00;
    __m256 a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int64_t d = 0; d < hd; d += 8) {
        const __m256 x0 = _mm256_loadu_ps(q0 + d), x1 = _mm256_loadu_ps(q1 + d), x2 = _mm256_loadu_ps(q2 + d);
        __m256 kv = kv_load8(k, rows[0] + d, f16);
        a00 = _mm256_fmadd_ps(x0, kv, a00); a10 = _mm256_fmadd_ps(x1, kv, a10); a20 = _mm256_fmadd_ps(x2, kv, a20);
        kv = kv_load8(k, rows[1] + d, f16);
        a01 = _mm256_fmadd_ps(x0, kv, a01); a11 = _mm256_fmadd_ps(x1, kv, a11); a21 = _mm256_fmadd_ps(x2, kv, a21);
        kv = kv_load8(k, rows[2] + d, f16);
        a02 = _mm256_fmadd_ps(x0, kv, a02); a12 = _mm256_fmadd_ps(x1, kv, a12); a22 = _mm256_fmadd_ps(x2, kv, a22);
        kv = kv_load8(k, rows[3] + d, f16);
        a03 = _mm256_fmadd_ps(x0, kv, a03); a13 = _mm256_fmadd_ps(x1, kv, a13); a23 = _mm256_fmadd_ps(x2, kv, a23);
    }
    out[0] = hsum4_avx2(a00, a01, a02, a03);
    out[1] = hsum4_avx2(a10, a11, a12, a13);
    out[2] = hsum4_avx2(a20, a21, a22, a23);
}

// Positions between a key row's prefetch and its use.
#define VK_ATT_AHEAD 16

// Every cache line of the row at element offset `row`.
VK_AVX2_INLINE void prefetch_row(const void *base, int64_t row, int64_t hd, const int f16) {
    const int64_t size = f16 ? 2 : 4;
    const char *p = (const char *)base + row * size;
    for (int64_t b = 0; b < hd * size; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

// Scores s[h * n + j] = scale * q_h . k_j for all heads and positions; returns each head's max.
VK_AVX2_INLINE void attention_scores_avx2(const float *q, int64_t g, int64_t hd, const void *k,
                                          const void *v, const int64_t *rows, int64_t n, float scale, float *s,
                                          float *mx, const int f16) {
    const __m128 sv = _mm_set1_ps(scale);
    int64_t h = 0;
    for (; h + 3 <= g; h += 3) {
        __m128 m[3] = {_mm_set1_ps(-INFINITY), _mm_set1_ps(-INFINITY), _mm_set1_ps(-INFINITY)};
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            // Rows sit in blocks scattered over the pool, too short for the hardware
            // prefetcher to ramp up: ask for keys a block ahead and for the values of these
            // positions, which the value pass reads next.
            for (int64_t t = j; t < j + 4; t++) {
                if (t + VK_ATT_AHEAD < n) prefetch_row(k, rows[t + VK_ATT_AHEAD], hd, f16);
                prefetch_row(v, rows[t], hd, f16);
            }
            __m128 d[3];
            dot4x3_rows_avx2(q + h * hd, hd, k, rows + j, d, f16);
            for (int t = 0; t < 3; t++) {
                d[t] = _mm_mul_ps(d[t], sv);
                _mm_storeu_ps(s + (h + t) * n + j, d[t]);
                m[t] = _mm_max_ps(m[t], d[t]);
            }
        }
        for (int t = 0; t < 3; t++) {
            float mt = hmax128(m[t]);
            for (int64_t jj = j; jj < n; jj++) {
                const float x = dot_row_avx2(q + (h + t) * hd, k, rows[jj], hd, f16) * scale;
                s[(h + t) * n + jj] = x;
                if (x > mt) mt = x;
            }
            mx[h + t] = mt;
        }
    }
    for (; h < g; h++) {
        const __m256 sv8 = _mm256_set1_ps(scale);
        const float *qh = q + h * hd;
        float *sh = s + h * n;
        __m256 mv = _mm256_set1_ps(-INFINITY);
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 d = _mm256_mul_ps(dot8_rows_avx2(qh, k, rows + j, hd, f16), sv8);
            _mm256_storeu_ps(sh + j, d);
            mv = _mm256_max_ps(mv, d);
        }
        float m = hmax128(_mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1)));
        for (; j < n; j++) {
            sh[j] = dot_row_avx2(qh, k, rows[j], hd, f16) * scale;
            if (sh[j] > m) m = sh[j];
        }
        mx[h] = m;
    }
}

// out_h += sum_j p[h * n + j] * v_j over 32 output dims [d0, d0 + 32) of 3 heads: each value
// chunk is loaded once for the three heads; 12 independent accumulator chains.
VK_AVX2_INLINE void values3_avx2(const float *p, int64_t n, const void *v, const int64_t *rows,
                                 int64_t d0, float *o0, float *o1, float *o2, const int f16) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00;
    __m256 a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int64_t j = 0; j < n; j++) {
        const int64_t vj = rows[j] + d0;
        const __m256 p0 = _mm256_broadcast_ss(p + j), p1 = _mm256_broadcast_ss(p + n + j);
        const __m256 p2 = _mm256_broadcast_ss(p + 2 * n + j);
        __m256 x = kv_load8(v, vj, f16);
        a00 = _mm256_fmadd_ps(p0, x, a00); a10 = _mm256_fmadd_ps(p1, x, a10); a20 = _mm256_fmadd_ps(p2, x, a20);
        x = kv_load8(v, vj + 8, f16);
        a01 = _mm256_fmadd_ps(p0, x, a01); a11 = _mm256_fmadd_ps(p1, x, a11); a21 = _mm256_fmadd_ps(p2, x, a21);
        x = kv_load8(v, vj + 16, f16);
        a02 = _mm256_fmadd_ps(p0, x, a02); a12 = _mm256_fmadd_ps(p1, x, a12); a22 = _mm256_fmadd_ps(p2, x, a22);
        x = kv_load8(v, vj + 24, f16);
        a03 = _mm256_fmadd_ps(p0, x, a03); a13 = _mm256_fmadd_ps(p1, x, a13); a23 = _mm256_fmadd_ps(p2, x, a23);
    }
    _mm256_storeu_ps(o0 + d0, a00); _mm256_storeu_ps(o0 + d0 + 8, a01);
    _mm256_storeu_ps(o0 + d0 + 16, a02); _mm256_storeu_ps(o0 + d0 + 24, a03);
    _mm256_storeu_ps(o1 + d0, a10); _mm256_storeu_ps(o1 + d0 + 8, a11);
    _mm256_storeu_ps(o1 + d0 + 16, a12); _mm256_storeu_ps(o1 + d0 + 24, a13);
    _mm256_storeu_ps(o2 + d0, a20); _mm256_storeu_ps(o2 + d0 + 8, a21);
    _mm256_storeu_ps(o2 + d0 + 16, a22); _mm256_storeu_ps(o2 + d0 + 24, a23);
}

// The same for one head, two positions per step so that 8 chains hide the FMA latency.
VK_AVX2_INLINE void values1_avx2(const float *p, int64_t n, const void *v, const int64_t *rows,
                                 int64_t d0, float *o, const int f16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
        const int64_t va = rows[j] + d0, vb = rows[j + 1] + d0;
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
    if (j < n) {
        const int64_t va = rows[j] + d0;
        const __m256 pa = _mm256_broadcast_ss(p + j);
        a0 = _mm256_fmadd_ps(pa, kv_load8(v, va, f16), a0);
        a1 = _mm256_fmadd_ps(pa, kv_load8(v, va + 8, f16), a1);
        a2 = _mm256_fmadd_ps(pa, kv_load8(v, va + 16, f16), a2);
        a3 = _mm256_fmadd_ps(pa, kv_load8(v, va + 24, f16), a3);
    }
    _mm256_storeu_ps(o + d0, _mm256_add_ps(a0, b0));
    _mm256_storeu_ps(o + d0 + 8, _mm256_add_ps(a1, b1));
    _mm256_storeu_ps(o + d0 + 16, _mm256_add_ps(a2, b2));
    _mm256_storeu_ps(o + d0 + 24, _mm256_add_ps(a3, b3));
}

VK_AVX2_INLINE void attention_avx2(const float *q, int64_t g, int64_t hd, const void *k, const void *v,
                                   const int64_t *rows, int64_t n, float scale, float *scores,
                                   float *out, float *mx, float *sum, const int f16) {
    attention_scores_avx2(q, g, hd, k, v, rows, n, scale, scores, mx, f16);
    for (int64_t h = 0; h < g; h++) sum[h] = exp_shift_avx2(scores + h * n, n, mx[h]);
    int64_t h = 0;
    for (; h + 3 <= g; h += 3)
        for (int64_t d0 = 0; d0 < hd; d0 += 32)
            values3_avx2(scores + h * n, n, v, rows, d0, out + h * hd, out + (h + 1) * hd, out + (h + 2) * hd, f16);
    for (; h < g; h++)
        for (int64_t d0 = 0; d0 < hd; d0 += 32) values1_avx2(scores + h * n, n, v, rows, d0, out + h * hd, f16);
    for (h = 0; h < g; h++) {
        const __m256 inv = _mm256_set1_ps(1.0f / sum[h]);
        for (int64_t d = 0; d < hd; d += 8)
            _mm256_storeu_ps(out + h * hd + d, _mm256_mul_ps(_mm256_loadu_ps(out + h * hd + d), inv));
    }
}

VK_AVX2 void vk_attention_avx2(const float *q, int64_t g, int64_t hd, const void *k, const void *v, int kv_type,
                               const int64_t *rows, int64_t n, float scale, float *scores,
                               float *out, float *mx, float *sum) {
    if (kv_type == VK_TYPE_F16) attention_avx2(q, g, hd, k, v, rows, n, scale, scores, out, mx, sum, 1);
    else attention_avx2(q, g, hd, k, v, rows, n, scale, scores, out, mx, sum, 0);
}

#endif
