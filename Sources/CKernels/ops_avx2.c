// AVX2 + FMA elementwise / normalization ops.
#include <math.h>

#include "avx2_common.h"

#if VK_HAVE_AVX2

VK_AVX2 void vk_rmsnorm_avx2(const float *x, const float *w, float *out, int64_t n, float eps) {
    // Sum of squares in double lanes.
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    s0 = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s0), _mm256_extractf128_pd(s0, 1));
    double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float scale = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    const __m256 sv = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

// The largest of x[0..n) (-inf for n = 0).
VK_AVX2_INLINE float max_f32(const float *x, int64_t n) {
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

VK_AVX2 void vk_softmax_avx2(float *x, int64_t n) {
    if (n <= 0) return;
    const float mx = max_f32(x, n);
    const __m256 mb = _mm256_set1_ps(mx);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 e0 = vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb));
        const __m256 e1 = vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mb));
        _mm256_storeu_ps(x + i, e0);
        _mm256_storeu_ps(x + i + 8, e1);
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 e = vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb));
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_ps(s0, e);
    }
    double sum = (double)vk_hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    const __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
    for (; i < n; i++) x[i] *= inv;
}

VK_AVX2 double vk_log_sum_exp_avx2(const float *x, int64_t n) {
    const float mx = max_f32(x, n);
    if (mx == -INFINITY) return -INFINITY;
    const __m256 mb = _mm256_set1_ps(mx);
    double total = 0.0;
    for (int64_t i = 0; i < n; i += 1024) {
        const int64_t end = n < i + 1024 ? n : i + 1024;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int64_t j = i;
        for (; j + 16 <= end; j += 16) {
            s0 = _mm256_add_ps(s0, vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), mb)));
            s1 = _mm256_add_ps(s1, vk_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), mb)));
        }
        float part = vk_hsum256(_mm256_add_ps(s0, s1));
        for (; j < end; j++) part += expf(x[j] - mx);
        total += part;
    }
    return (double)mx + log(total);
}

VK_AVX2 void vk_silu_mul_avx2(const float *gate, const float *up, float *out, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = vk_exp256(_mm256_sub_ps(zero, g));
        const __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// tanh(y) = 1 - 2 / (exp(2y) + 1): exact at the ends (exp saturates to 0 or inf) and within a
// few float ulps of 1 in between.
VK_AVX2_INLINE __m256 tanh256(__m256 y) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    const __m256 e = vk_exp256(_mm256_mul_ps(two, y));
    return _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
}

// gelu_tanh(g) = g * sigmoid(2u), u = sqrt(2/pi) * (g + 0.044715 g^3): the same function as
// 0.5 g (1 + tanh u), with one exp and no cancellation near 0.
VK_AVX2 void vk_gelu_tanh_mul_avx2(const float *gate, const float *up, float *out, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), k2 = _mm256_set1_ps(-2.0f * 0.7978845608028654f);
    const __m256 c = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(c, g), _mm256_mul_ps(g, g), g);
        const __m256 e = vk_exp256(_mm256_mul_ps(k2, inner));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    if (i < n) vk_gelu_tanh_mul_portable(gate + i, up + i, out + i, n - i);
}

VK_AVX2 void vk_swiglu_oai_avx2(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit) {
    const __m256 one = _mm256_set1_ps(1.0f), lim = _mm256_set1_ps(limit), nlim = _mm256_set1_ps(-limit);
    const __m256 na = _mm256_set1_ps(-alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_min_ps(_mm256_loadu_ps(gate + i), lim);
        const __m256 u = _mm256_max_ps(_mm256_min_ps(_mm256_loadu_ps(up + i), lim), nlim);
        const __m256 glu = _mm256_div_ps(g, _mm256_add_ps(one, vk_exp256(_mm256_mul_ps(na, g))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_add_ps(u, one), glu));
    }
    if (i < n) vk_swiglu_oai_portable(gate + i, up + i, out + i, n - i, alpha, limit);
}

VK_AVX2 void vk_softcap_avx2(float *x, int64_t n, float cap) {
    const __m256 c = _mm256_set1_ps(cap), inv = _mm256_set1_ps(1.0f / cap);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(c, tanh256(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv))));
    if (i < n) vk_softcap_portable(x + i, n - i, cap);
}

VK_AVX2 void vk_rope_rotate_half_avx2(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                                      const float *s) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *p = x + h * head_dim;
        int64_t i = 0;
        for (; i + 8 <= half; i += 8) {
            const __m256 cc = _mm256_loadu_ps(c + i), ss = _mm256_loadu_ps(s + i);
            const __m256 x0 = _mm256_loadu_ps(p + i), x1 = _mm256_loadu_ps(p + i + half);
            _mm256_storeu_ps(p + i, _mm256_fmsub_ps(x0, cc, _mm256_mul_ps(x1, ss)));
            _mm256_storeu_ps(p + i + half, _mm256_fmadd_ps(x0, ss, _mm256_mul_ps(x1, cc)));
        }
        for (; i < half; i++) {
            const float x0 = p[i], x1 = p[i + half];
            p[i] = x0 * c[i] - x1 * s[i];
            p[i + half] = x0 * s[i] + x1 * c[i];
        }
    }
}

VK_AVX2 void vk_rope_adjacent_avx2(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                                   const float *s) {
    const int64_t half = head_dim / 2;
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    for (int64_t h = 0; h < n_heads; h++) {
        float *p = x + h * head_dim;
        int64_t i = 0;
        for (; i + 4 <= half; i += 4) {
            const __m256 cc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(c + i)), dup);
            const __m256 ss = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(s + i)), dup);
            const __m256 v = _mm256_loadu_ps(p + 2 * i);
            const __m256 sw = _mm256_permute_ps(v, 0xB1);  // (x1, x0) pairs
            // even lanes: x0*c - x1*s, odd lanes: x1*c + x0*s
            _mm256_storeu_ps(p + 2 * i, _mm256_fmaddsub_ps(v, cc, _mm256_mul_ps(sw, ss)));
        }
        for (; i < half; i++) {
            const float x0 = p[2 * i], x1 = p[2 * i + 1];
            p[2 * i] = x0 * c[i] - x1 * s[i];
            p[2 * i + 1] = x0 * s[i] + x1 * c[i];
        }
    }
}

VK_AVX2 void vk_axpy_f32_avx2(float a, const float *x, float *y, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

VK_AVX2 void vk_f32_to_f16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = vk_fp32_to_fp16(src[i]);
}

#endif
