// The int8 activation format (one term: vk_matmul with VK_ACT_INT8): each 32-element block of an
// activation row becomes a fp32 scale and 32 int8 values (x ≈ d * q, d = max|x| / 127), the
// block's dequantized sum d * sum(q), and the integer sum of q over each 16 elements, so that
// weight offsets (Q4_0's -8, Q6_K's -32) and minimums (Q4_1's m, Q4_K's dmin * m) cost one
// multiply per block. The quantized row is what the int8 dot kernels multiply exactly (integer
// products, fp32 block scales), so the scalar reference is the plain dot product of the weights
// with the dequantized row.
//
// Two terms (vk_quantize_act_q8_terms): the second quantizes what the first missed at the scale
// d / 256, so that kernels may join the two integer sums exactly (isum_0 * 256 + isum_1) and scale
// them once.
#include <math.h>
#include <string.h>

#include "internal.h"

int64_t vk_act_q8_bytes(int64_t k) {
    const int64_t nb = k / 32;
    return nb * (4 + 4 + 2 * 2 + 32);
}

vk_act_q8 vk_act_q8_view(const void *p, int64_t k) {
    const int64_t nb = k / 32;
    vk_act_q8 a;
    a.d = (const float *)p;
    a.xs = a.d + nb;
    a.s = (const int16_t *)(a.xs + nb);
    a.q = (const int8_t *)(a.s + 2 * nb);
    return a;
}

// The next term's reciprocal scale, 256 times the last (0 where that overflows: a block of
// activations below ~1e-36 keeps its first term only).
float vk_act_q8_next_inv(float inv) {
    const float next = inv * (float)(1 << VK_TERM_SHIFT);
    return isfinite(next) ? next : 0.0f;
}

// One 32-element block at scale d (reciprocal inv): d, its dequantized sum, the sums s[0..2) of q
// over each 16, and q = round(x * inv) within +-127.
static void quantize_block(const float *xb, float d, float inv, float *dd, float *xs, int16_t *s, int8_t *q) {
    *dd = d;
    for (int h = 0; h < 2; h++) {
        int sum = 0;
        for (int j = 16 * h; j < 16 * h + 16; j++) {
            const int v = (int)lrintf(xb[j] * inv);
            q[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            sum += q[j];
        }
        s[h] = (int16_t)sum;
    }
    *xs = d * (float)(s[0] + s[1]);
}

void vk_quantize_act_q8_terms_portable(const float *x, int64_t k, int terms, void *out) {
    const int64_t nb = k / 32;
    for (int64_t b = 0; b < nb; b++) {
        float r[32], amax = 0.0f;
        memcpy(r, x + 32 * b, sizeof r);
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(r[j]));
        float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int t = 0; t < terms; t++) {
            const vk_act_q8 a = vk_act_q8_view((char *)out + t * vk_act_q8_bytes(k), k);
            int8_t *q = (int8_t *)a.q + 32 * b;
            quantize_block(r, d, inv, (float *)a.d + b, (float *)a.xs + b, (int16_t *)a.s + 2 * b, q);
            for (int j = 0; j < 32; j++) r[j] = fmaf(-d, (float)q[j], r[j]);
            inv = vk_act_q8_next_inv(inv);
            d = inv > 0.0f ? d / (float)(1 << VK_TERM_SHIFT) : 0.0f;
        }
    }
}

void vk_quantize_act_q8(const float *x, int64_t k, void *out) { VK_K.quantize_act_q8_terms(x, k, 1, out); }
void vk_quantize_act_q8_terms(const float *x, int64_t k, int terms, void *out) {
    VK_K.quantize_act_q8_terms(x, k, terms, out);
}

void vk_dequantize_act_q8(const void *act, int64_t k, float *x) {
    const vk_act_q8 a = vk_act_q8_view(act, k);
    for (int64_t i = 0; i < k; i++) x[i] = a.d[i / 32] * (float)a.q[i];
}

void vk_dot_q8act_multi_portable(int type, const void *w, int64_t n, const vk_act_q8 *a, int64_t nx,
                                 float *out, int64_t ldout) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    if (be == 0 || n <= 0) return;
    float wb[VK_MAX_BLOCK];
    for (int64_t r = 0; r < nx; r++) {
        float sum = 0.0f;
        for (int64_t i = 0; i < n; i += VK_MAX_BLOCK) {
            const int64_t len = n - i < VK_MAX_BLOCK ? n - i : VK_MAX_BLOCK;
            vk_dequantize_row_portable(type, (const char *)w + (i / be) * bb, wb, len);
            for (int64_t j = 0; j < len; j++) sum += wb[j] * (a[r].d[(i + j) / 32] * (float)a[r].q[i + j]);
        }
        out[r * ldout] = sum;
    }
}

int vk_matmul_int8_supported(int type) {
    if (VK_K.dot_q8act_multi == NULL) return 0;
    // Stored rows of the other types are repacked at load wherever there is an int8 path.
    return type == VK_TYPE_Q8_0;
}
