// AVX-512 GEMM microkernel over the same packed weight panel ([k][16], see gemm.c) and packed
// activations ([k][6] per group of 6 rows) as gemm_avx2.c: one zmm holds a panel row, so two
// activation groups (12 rows) go together to keep 12 independent accumulators, enough to hide
// the FMA latency on two FMA pipes; per k step one panel load, 12 broadcasts and 12 FMAs, over
// one k-block (vk_matmul slices k).
#include "avx2_common.h"

#if VK_HAVE_AVX2

#define VK_NR 16
#define VK_MR2 (2 * VK_MR)

// Writes (or adds, when accumulate) one row of 16 results, nc of them valid.
VK_AVX512 static inline void store_row512(float *yr, __m512 c, int64_t nc, int accumulate) {
    const __mmask16 mask = (__mmask16)((1u << nc) - 1);
    if (accumulate) c = _mm512_add_ps(c, _mm512_maskz_loadu_ps(mask, yr));
    _mm512_mask_storeu_ps(yr, mask, c);
}

// The mr x 16 kernel (mr <= 12): rows 0..5 come from group a0, rows 6..11 from group a1 (the
// next packed group); each row count gets its own instance.
#define VK_KERNEL512(MR)                                                                           \
    VK_AVX512 static void kernel512_##MR(const float *a0, const float *a1, const float *panel,    \
                                         int64_t kc, float *y, int64_t ldy, int64_t nc,           \
                                         int accumulate) {                                         \
        __m512 c[MR];                                                                              \
        for (int r = 0; r < MR; r++) c[r] = _mm512_setzero_ps();                                   \
        for (int64_t kk = 0; kk < kc; kk++, a0 += VK_MR, a1 += VK_MR) {                            \
            const __m512 b = _mm512_loadu_ps(panel + kk * VK_NR);                                  \
            for (int r = 0; r < MR; r++) {                                                         \
                const float *ar = r < VK_MR ? a0 + r : a1 + (r - VK_MR);                           \
                c[r] = _mm512_fmadd_ps(_mm512_set1_ps(*ar), b, c[r]);                              \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < MR; r++) store_row512(y + r * ldy, c[r], nc, accumulate);              \
    }
VK_KERNEL512(1)
VK_KERNEL512(2)
VK_KERNEL512(3)
VK_KERNEL512(4)
VK_KERNEL512(5)
VK_KERNEL512(6)
VK_KERNEL512(7)
VK_KERNEL512(8)
VK_KERNEL512(9)
VK_KERNEL512(10)
VK_KERNEL512(11)
VK_KERNEL512(12)
typedef void (*vk_kernel512_fn)(const float *a0, const float *a1, const float *panel, int64_t kc,
                                float *y, int64_t ldy, int64_t nc, int accumulate);
static const vk_kernel512_fn kernels512[VK_MR2 + 1] = {
    NULL, kernel512_1, kernel512_2, kernel512_3, kernel512_4, kernel512_5, kernel512_6,
    kernel512_7, kernel512_8, kernel512_9, kernel512_10, kernel512_11, kernel512_12};

VK_AVX512 void vk_gemm_panel_avx512(const float *packed, int64_t m, int64_t k, int64_t kb,
                                    const float *panel, int64_t kc, float *y, int64_t ldy, int64_t nc,
                                    int accumulate) {
    for (int64_t i = 0; i < m; i += VK_MR2) {
        const int64_t mr = m - i < VK_MR2 ? m - i : VK_MR2;
        const float *a0 = packed + i * k + kb * VK_MR;
        // The second group exists only when mr > 6 (packed groups are VK_MR * k floats).
        const float *a1 = mr > VK_MR ? a0 + VK_MR * k : a0;
        kernels512[mr](a0, a1, panel, kc, y + i * ldy, ldy, nc, accumulate);
    }
}

#endif
