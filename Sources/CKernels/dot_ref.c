// Scalar reference dot product: dequantize (reference code) chunk by chunk, then sum the
// products in double.
#include "internal.h"

double vk_dot_row_ref(int type, const void *w, const float *x, int64_t n) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    if (be == 0 || n <= 0) return 0.0;
    const int64_t chunk = VK_MAX_BLOCK;  // a multiple of every block size
    float buf[VK_MAX_BLOCK];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += chunk) {
        const int64_t len = n - i < chunk ? n - i : chunk;
        vk_dequantize_row_ref(type, (const char *)w + (i / be) * bb, buf, len);
        for (int64_t j = 0; j < len; j++) sum += (double)x[i + j] * (double)buf[j];
    }
    return sum;
}
