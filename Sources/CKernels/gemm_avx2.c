// AVX2 + FMA GEMM microkernel over a packed weight panel ([k][16], see gemm.c):
// MR (<= 6) activation rows x 16 outputs held in 12 ymm accumulators; per k step two panel
// loads, MR broadcasts and 2*MR FMAs. k is split into KC-long slices so the panel slice stays in
// L1 while every group of activation rows streams over it.
#include "avx2_common.h"

#if VK_HAVE_AVX2

#define VK_NR 16
#define VK_MR 6
#define VK_KC 256

VK_AVX2_INLINE void kernel(const int mr, const float *x, int64_t ldx, const float *panel, int64_t kc,
                           float *y, int64_t ldy, int64_t nc, int accumulate) {
    __m256 c0[VK_MR], c1[VK_MR];
    for (int i = 0; i < mr; i++) c0[i] = c1[i] = _mm256_setzero_ps();
    for (int64_t kk = 0; kk < kc; kk++) {
        const __m256 b0 = _mm256_loadu_ps(panel + kk * VK_NR);
        const __m256 b1 = _mm256_loadu_ps(panel + kk * VK_NR + 8);
        for (int i = 0; i < mr; i++) {
            const __m256 a = _mm256_broadcast_ss(x + i * ldx + kk);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        float *yr = y + i * ldy;
        if (nc == VK_NR) {
            if (accumulate) {
                c0[i] = _mm256_add_ps(c0[i], _mm256_loadu_ps(yr));
                c1[i] = _mm256_add_ps(c1[i], _mm256_loadu_ps(yr + 8));
            }
            _mm256_storeu_ps(yr, c0[i]);
            _mm256_storeu_ps(yr + 8, c1[i]);
        } else {
            float t[VK_NR];
            _mm256_storeu_ps(t, c0[i]);
            _mm256_storeu_ps(t + 8, c1[i]);
            for (int64_t c = 0; c < nc; c++) yr[c] = accumulate ? yr[c] + t[c] : t[c];
        }
    }
}

VK_AVX2 void vk_gemm_panel_avx2(const float *x, int64_t ldx, int64_t m, const float *panel, int64_t k,
                                float *y, int64_t ldy, int64_t nc) {
    for (int64_t kb = 0; kb < k; kb += VK_KC) {
        const int64_t kc = k - kb < VK_KC ? k - kb : VK_KC;
        const float *p = panel + kb * VK_NR;
        const int acc = kb > 0;
        int64_t i = 0;
        for (; i + VK_MR <= m; i += VK_MR) kernel(6, x + i * ldx + kb, ldx, p, kc, y + i * ldy, ldy, nc, acc);
        const float *xr = x + i * ldx + kb;
        float *yr = y + i * ldy;
        switch (m - i) {
        case 5: kernel(5, xr, ldx, p, kc, yr, ldy, nc, acc); break;
        case 4: kernel(4, xr, ldx, p, kc, yr, ldy, nc, acc); break;
        case 3: kernel(3, xr, ldx, p, kc, yr, ldy, nc, acc); break;
        case 2: kernel(2, xr, ldx, p, kc, yr, ldy, nc, acc); break;
        case 1: kernel(1, xr, ldx, p, kc, yr, ldy, nc, acc); break;
        default: break;
        }
    }
}

#endif
