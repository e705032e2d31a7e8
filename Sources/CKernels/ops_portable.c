// Portable (level 0) elementwise / normalization ops.
#include <math.h>

#include "fp16.h"
#include "internal.h"

void vk_rmsnorm_portable(const float *x, const float *w, float *out, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float scale = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (int64_t i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

void vk_softmax_portable(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

double vk_log_sum_exp_portable(const float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) return -INFINITY;
    double total = 0.0;
    for (int64_t i = 0; i < n; i += 1024) {
        float part = 0.0f;
        for (int64_t j = i; j < n && j < i + 1024; j++) part += expf(x[j] - mx);
        total += part;
    }
    return (double)mx + log(total);
}

void vk_silu_mul_portable(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// PyTorch's gelu(approximate="tanh") in its own form.
void vk_gelu_tanh_mul_portable(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = 0.5f * g * (1.0f + tanhf(0.7978845608028654f * (g + 0.044715f * g * g * g))) * up[i];
    }
}

void vk_swiglu_oai_portable(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit) {
    for (int64_t i = 0; i < n; i++) {
        const float g = fminf(gate[i], limit), u = fminf(fmaxf(up[i], -limit), limit);
        out[i] = (u + 1.0f) * (g / (1.0f + expf(-alpha * g)));
    }
}

void vk_softcap_portable(float *x, int64_t n, float cap) {
    const float inv = 1.0f / cap;
    for (int64_t i = 0; i < n; i++) x[i] = cap * tanhf(x[i] * inv);
}

void vk_rope_adjacent_portable(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                               const float *s) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *p = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            const float x0 = p[2 * i], x1 = p[2 * i + 1];
            p[2 * i] = x0 * c[i] - x1 * s[i];
            p[2 * i + 1] = x0 * s[i] + x1 * c[i];
        }
    }
}

void vk_rope_rotate_half_portable(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                                  const float *s) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *p = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            const float x0 = p[i], x1 = p[i + half];
            p[i] = x0 * c[i] - x1 * s[i];
            p[i + half] = x0 * s[i] + x1 * c[i];
        }
    }
}

void vk_axpy_f32_portable(float a, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void vk_f32_to_f16_portable(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = vk_fp32_to_fp16(src[i]);
}
