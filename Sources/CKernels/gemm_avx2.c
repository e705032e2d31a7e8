// AVX2 + FMA GEMM microkernel over a packed weight panel ([k][16], see gemm.c) and packed
// activations ([k][6] per group of 6 rows): up to 6 rows x 16 outputs in 12 ymm accumulators;
// per k step two panel loads, 6 broadcasts and 12 FMAs, over one k-block (vk_matmul slices k).
#include "avx2_common.h"

#if VK_HAVE_AVX2

#define VK_NR 16

// Writes (or adds, when accumulate) one row of 16 results, nc of them valid.
VK_AVX2_INLINE void store_row(float *yr, __m256 c0, __m256 c1, int64_t nc, int accumulate) {
    if (nc == VK_NR) {
        if (accumulate) {
            c0 = _mm256_add_ps(c0, _mm256_loadu_ps(yr));
            c1 = _mm256_add_ps(c1, _mm256_loadu_ps(yr + 8));
        }
        _mm256_storeu_ps(yr, c0);
        _mm256_storeu_ps(yr + 8, c1);
    } else {
        float t[VK_NR];
        _mm256_storeu_ps(t, c0);
        _mm256_storeu_ps(t + 8, c1);
        for (int64_t c = 0; c < nc; c++) yr[c] = accumulate ? yr[c] + t[c] : t[c];
    }
}

// The mr x 16 kernel (mr <= 6) with 2 * mr accumulators; each row count gets its own instance
// so a short last group of rows (a decode batch of 32 is 5 groups of 6 and one of 2) does only
// its own work. `a` is one packed group: the 6 row values of column kk are a[kk * 6 ..
// kk * 6 + 5]; rows past mr are padding and never read.
#define VK_KERNEL(MR)                                                                              \
    VK_AVX2 static void kernel##MR(const float *a, const float *panel, int64_t kc, float *y,       \
                                   int64_t ldy, int64_t nc, int accumulate) {                      \
        __m256 c0[MR], c1[MR];                                                                     \
        for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();                          \
        const float *p = panel;                                                                    \
        for (int64_t kk = 0; kk < kc; kk++, p += VK_NR, a += VK_MR) {                              \
            const __m256 b0 = _mm256_loadu_ps(p), b1 = _mm256_loadu_ps(p + 8);                     \
            for (int r = 0; r < MR; r++) {                                                         \
                const __m256 t = _mm256_broadcast_ss(a + r);                                       \
                c0[r] = _mm256_fmadd_ps(t, b0, c0[r]);                                             \
                c1[r] = _mm256_fmadd_ps(t, b1, c1[r]);                                             \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < MR; r++) store_row(y + r * ldy, c0[r], c1[r], nc, accumulate);         \
    }
VK_KERNEL(1)
VK_KERNEL(2)
VK_KERNEL(3)
VK_KERNEL(4)
VK_KERNEL(5)
VK_KERNEL(6)
typedef void (*vk_kernel_fn)(const float *a, const float *panel, int64_t kc, float *y, int64_t ldy,
                             int64_t nc, int accumulate);
static const vk_kernel_fn kernels[VK_MR + 1] = {NULL, kernel1, kernel2, kernel3, kernel4, kernel5, kernel6};

// Columns j..j+7 of 8 rows (stride ld) -> 8 vectors of 8 row values, stored at dst + t*VK_NR.
VK_AVX2_INLINE void transpose8_store(const float *src, int64_t ld, float *dst) {
    const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld);
    const __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
    const __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
    const __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * VK_NR, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * VK_NR, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * VK_NR, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * VK_NR, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * VK_NR, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * VK_NR, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * VK_NR, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * VK_NR, _mm256_permute2f128_ps(u3, u7, 0x31));
}

VK_AVX2 void vk_pack_panel_avx2(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                                float *panel) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    float tmp[VK_NR][VK_MAX_BLOCK] __attribute__((aligned(32)));
    for (int64_t c0 = 0; c0 < k; c0 += VK_MAX_BLOCK) {
        const int64_t len = k - c0 < VK_MAX_BLOCK ? k - c0 : VK_MAX_BLOCK;
        for (int64_t r = 0; r < VK_NR; r++) {
            if (r < rows) vk_dequantize_row_avx2(type, w + r * rowbytes + (c0 / be) * bb, tmp[r], len);
            else memset(tmp[r], 0, (size_t)len * sizeof(float));
        }
        float *dst = panel + c0 * VK_NR;
        int64_t j = 0;
        for (; j + 8 <= len; j += 8) {
            transpose8_store(&tmp[0][j], VK_MAX_BLOCK, dst + j * VK_NR);
            transpose8_store(&tmp[8][j], VK_MAX_BLOCK, dst + j * VK_NR + 8);
        }
        for (; j < len; j++)
            for (int64_t r = 0; r < VK_NR; r++) dst[j * VK_NR + r] = tmp[r][j];
    }
}

VK_AVX2 void vk_gemm_panel_avx2(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                                int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate) {
    for (int64_t i = 0; i < m; i += VK_MR) {
        const int64_t mr = m - i < VK_MR ? m - i : VK_MR;
        kernels[mr](packed + i * k + kb * VK_MR, panel, kc, y + i * ldy, ldy, nc, accumulate);
    }
}

#endif
