// The machine's limits, measured the way the benchmark suite reports every figure against them:
// memory bandwidth by a STREAM-style triad (McCalpin's STREAM "Triad": a = b + s*c, counted as
// 12 bytes per float element: two loads and one store, write-allocate traffic not counted) and
// peak fp32 FLOP/s by independent fused multiply-add chains.
#include "avx2_common.h"

void vk_triad_f32(float *a, const float *b, const float *c, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

// Twelve independent accumulators: more chains than FMA latency x FMA ports (4 x 2 on recent
// x86 cores), so the loop is bound by FMA throughput alone. Each accumulator is acc*1 + 1, so
// the result is exact and known (lanes x 12 x iterations, while iterations <= 2^24), which is
// how the test checks it.
enum { VK_FMA_CHAINS = 12 };

static double fma_peak_portable(int64_t iterations) {
    float acc[VK_FMA_CHAINS * 8] = {0};
    for (int64_t it = 0; it < iterations; it++)
        for (int j = 0; j < VK_FMA_CHAINS * 8; j++) acc[j] = acc[j] * 1.0f + 1.0f;
    double sum = 0;
    for (int j = 0; j < VK_FMA_CHAINS * 8; j++) sum += acc[j];
    return sum;
}

#if VK_HAVE_AVX2
VK_AVX2 static double fma_peak_avx2(int64_t iterations) {
    __m256 one = _mm256_set1_ps(1.0f);
    // Hidden from the optimizer, so fma(acc, 1, 1) is not turned into an add.
    __asm__ volatile("" : "+x"(one));
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    for (int64_t it = 0; it < iterations; it++) {
        a0 = _mm256_fmadd_ps(a0, one, one); a1 = _mm256_fmadd_ps(a1, one, one);
        a2 = _mm256_fmadd_ps(a2, one, one); a3 = _mm256_fmadd_ps(a3, one, one);
        a4 = _mm256_fmadd_ps(a4, one, one); a5 = _mm256_fmadd_ps(a5, one, one);
        a6 = _mm256_fmadd_ps(a6, one, one); a7 = _mm256_fmadd_ps(a7, one, one);
        a8 = _mm256_fmadd_ps(a8, one, one); a9 = _mm256_fmadd_ps(a9, one, one);
        a10 = _mm256_fmadd_ps(a10, one, one); a11 = _mm256_fmadd_ps(a11, one, one);
        // Keeps the compiler from folding the chains into a closed form.
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
        __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    double sum = 0;
    for (int j = 0; j < 8; j++) sum += lanes[j];
    return sum;
}
#endif

double vk_fma_peak(int64_t iterations) {
#if VK_HAVE_AVX2
    if (vk_simd_level() >= 1) return fma_peak_avx2(iterations);
#endif
    return fma_peak_portable(iterations);
}

int64_t vk_fma_peak_flops_per_iteration(void) { return VK_FMA_CHAINS * 8 * 2; }
