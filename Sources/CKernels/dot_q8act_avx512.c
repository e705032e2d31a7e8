// AVX-512 VNNI int8-activation kernel: gemm_rp_kernels.h with vpdpbusd (AVX512_VNNI +
// AVX512VL), one instruction per 32 byte products where AVX2 needs two, and without saturation
// (so repacked Q8_0, IQ4 and MXFP4 run here too); the repacked kernel also in 512 bits.
#include "avx2_common.h"

#if VK_HAVE_AVX2

#define VK_RP_TARGET VK_AVX512
#define VK_RP_INLINE static inline __attribute__((always_inline, target(VK_AVX512_FEATURES)))
#define VK_RP_DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define VK_RP_Q8 1
#define VK_RP_GEMM vk_gemm_rp_avx512
#define VK_RP_MR 8
#include "gemm_rp_kernels.h"

#endif
