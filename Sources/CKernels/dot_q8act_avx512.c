// AVX-512 VNNI int8-activation kernels: dot_q8act_kernels.h and gemm_rp_kernels.h with vpdpbusd
// (AVX512_VNNI + AVX512VL), one instruction per 32 byte products where AVX2 needs two, and
// without saturation (so repacked Q8_0 runs here too); the repacked kernel also in 512 bits.
#include "avx2_common.h"

#if VK_HAVE_AVX2

#define VK_Q8A_TARGET VK_AVX512
#define VK_Q8A_INLINE static inline __attribute__((always_inline, target(VK_AVX512_FEATURES)))
#define VK_Q8A_DOT32(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#define VK_Q8A_ENTRY vk_dot_q8act_multi_avx512
#include "dot_q8act_kernels.h"

#define VK_RP_TARGET VK_AVX512
#define VK_RP_INLINE VK_Q8A_INLINE
#define VK_RP_DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define VK_RP_Q8 1
#define VK_RP_GEMM vk_gemm_rp_avx512
#define VK_RP_MR 8
#include "gemm_rp_kernels.h"

#endif
