// Portable (level 0) dot products: dequantize a chunk into a stack buffer, then an fp32 dot with
// eight independent partial sums.
#include "internal.h"

static float dot8(const float *a, const float *b, int64_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += a[i + l] * b[i + l];
    float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

float vk_dot_f32_portable(const float *a, const float *b, int64_t n) {
    return n > 0 ? dot8(a, b, n) : 0.0f;
}

float vk_dot_row_portable(int type, const void *w, const float *x, int64_t n) {
    if (type == VK_TYPE_F32) return vk_dot_f32_portable((const float *)w, x, n);
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    if (be == 0 || n <= 0) return 0.0f;
    float buf[VK_MAX_BLOCK];
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i += VK_MAX_BLOCK) {
        const int64_t len = n - i < VK_MAX_BLOCK ? n - i : VK_MAX_BLOCK;
        vk_dequantize_row_portable(type, (const char *)w + (i / be) * bb, buf, len);
        sum += dot8(buf, x + i, len);
    }
    return sum;
}

void vk_dot_row_multi_portable(int type, const void *w, const float *x, int64_t ldx, int64_t nx,
                               int64_t n, float *out, int64_t ldout) {
    if (type == VK_TYPE_F32) {
        for (int64_t r = 0; r < nx; r++)
            out[r * ldout] = vk_dot_f32_portable((const float *)w, x + r * ldx, n);
        return;
    }
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    float sum[VK_MULTI_MAX] = {0, 0, 0, 0};
    float buf[VK_MAX_BLOCK];
    if (be == 0 || n <= 0 || nx > VK_MULTI_MAX) return;
    for (int64_t i = 0; i < n; i += VK_MAX_BLOCK) {
        const int64_t len = n - i < VK_MAX_BLOCK ? n - i : VK_MAX_BLOCK;
        vk_dequantize_row_portable(type, (const char *)w + (i / be) * bb, buf, len);
        for (int64_t r = 0; r < nx; r++) sum[r] += dot8(buf, x + r * ldx + i, len);
    }
    for (int64_t r = 0; r < nx; r++) out[r * ldout] = sum[r];
}
