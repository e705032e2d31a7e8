// The int8-activation kernel over weights repacked at load (repack_q8.c has the layout): one
// 8-row panel times 1..MR activation rows quantized by act_q8.c. Each 32-byte load of the panel
// holds 4 elements of all 8 rows (two such steps for nibbles), which one byte dot-product
// instruction multiplies with 4 activation bytes broadcast to every lane: the 8 int32 lanes are
// the 8 rows' partial sums, so no horizontal sums; per group the integer sums are scaled once in
// fp32 as dx * (ds * isum + c * S). Included once per instruction set, with
//   VK_RP_TARGET / VK_RP_INLINE  that set's target attribute (plain / always inlined),
//   VK_RP_DPBUSD(acc, u, s)      acc + the 4-byte dot products of u (unsigned) and s (signed)
//                                in each int32 lane,
//   VK_RP_Q8                     1 where unsigned bytes up to 255 do not saturate (Q8_0),
//   VK_RP_GEMM                   the name of the entry point this file defines,
//   VK_RP_MR                     activation rows per pass (4, or 8 with AVX-512, which also gets the
//                                512-bit two-panel kernel).
#include "avx2_common.h"

VK_RP_INLINE int32_t rp_x4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return v;
}

// 2^(e - 128) for 32-bit lanes of E8M0 exponents e (vk_e8m0_half: e < 2 lands in the subnormals).
VK_RP_INLINE __m256 rp_e8m0_256(__m256i e) {
    const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
    const __m256i tiny = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
    return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e)));
}

// 256-bit: one panel per vector.
#define RPV(name) rp_##name##_256
#define RPV_PS __m256
#define RPV_SI __m256i
#define RPV_LANES 8
#define RPV_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define RPV_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define RPV_U8(p) _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define RPV_I8I(p) _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p)))
#define RPV_E8M0(p) rp_e8m0_256(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define RPV_BCAST16(t) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t)))
#define RPV_SHUFFLE8 _mm256_shuffle_epi8
#define RPV_MULLO _mm256_mullo_epi32
#define RPV_ADD32 _mm256_add_epi32
#define RPV_SLLI32 _mm256_slli_epi32
#define RPV_SUB32 _mm256_sub_epi32
#define RPV_SET1_EPI8 _mm256_set1_epi8
#define RPV_SET1_EPI32 _mm256_set1_epi32
#define RPV_AND _mm256_and_si256
#define RPV_XOR _mm256_xor_si256
#define RPV_OR _mm256_or_si256
#define RPV_SRLI16 _mm256_srli_epi16
#define RPV_SLLI16 _mm256_slli_epi16
#define RPV_ZERO_SI _mm256_setzero_si256
#define RPV_ZERO_PS _mm256_setzero_ps
#define RPV_SET1_PS _mm256_set1_ps
#define RPV_MUL _mm256_mul_ps
#define RPV_SUB _mm256_sub_ps
#define RPV_ADD _mm256_add_ps
#define RPV_FMA _mm256_fmadd_ps
#define RPV_CVT _mm256_cvtepi32_ps
#define RPV_STOREU _mm256_storeu_ps
#define VK_RP_DPBUSD_W VK_RP_DPBUSD
#include "gemm_rp_body.h"
#undef RPV
#undef RPV_PS
#undef RPV_SI
#undef RPV_LANES
#undef RPV_LOAD
#undef RPV_F16
#undef RPV_U8
#undef RPV_I8I
#undef RPV_E8M0
#undef RPV_BCAST16
#undef RPV_SHUFFLE8
#undef RPV_MULLO
#undef RPV_ADD32
#undef RPV_SLLI32
#undef RPV_SUB32
#undef RPV_SET1_EPI8
#undef RPV_SET1_EPI32
#undef RPV_AND
#undef RPV_XOR
#undef RPV_OR
#undef RPV_SRLI16
#undef RPV_SLLI16
#undef RPV_ZERO_SI
#undef RPV_ZERO_PS
#undef RPV_SET1_PS
#undef RPV_MUL
#undef RPV_SUB
#undef RPV_ADD
#undef RPV_FMA
#undef RPV_CVT
#undef RPV_STOREU
#undef VK_RP_DPBUSD_W

#if VK_RP_MR == 8
VK_RP_INLINE __m512 rp_e8m0_512(__m512i e) {
    const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
    const __m512i tiny = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(e, _mm512_set1_epi32(2)), normal, tiny));
}

// 512-bit (AVX-512): two panels side by side, the second pb bytes after the first.
#define RPV(name) rp_##name##_512
#define RPV_PS __m512
#define RPV_SI __m512i
#define RPV_LANES 16
#define RPV_LOAD(p) _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p))), \
                                       _mm256_loadu_si256((const __m256i *)((p) + pb)), 1)
#define RPV_F16(p) _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p))), \
                                                           _mm_loadu_si128((const __m128i *)((p) + pb)), 1))
#define RPV_BYTES16(p) _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(p)), _mm_loadl_epi64((const __m128i *)((p) + pb)))
#define RPV_U8(p) _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(RPV_BYTES16(p)))
#define RPV_I8I(p) _mm512_cvtepi8_epi32(RPV_BYTES16(p))
#define RPV_E8M0(p) rp_e8m0_512(_mm512_cvtepu8_epi32(RPV_BYTES16(p)))
#define RPV_BCAST16(t) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(t)))
#define RPV_SHUFFLE8 _mm512_shuffle_epi8
#define RPV_MULLO _mm512_mullo_epi32
#define RPV_ADD32 _mm512_add_epi32
#define RPV_SLLI32 _mm512_slli_epi32
#define RPV_SUB32 _mm512_sub_epi32
#define RPV_SET1_EPI8 _mm512_set1_epi8
#define RPV_SET1_EPI32 _mm512_set1_epi32
#define RPV_AND _mm512_and_si512
#define RPV_XOR _mm512_xor_si512
#define RPV_OR _mm512_or_si512
#define RPV_SRLI16 _mm512_srli_epi16
#define RPV_SLLI16 _mm512_slli_epi16
#define RPV_ZERO_SI _mm512_setzero_si512
#define RPV_ZERO_PS _mm512_setzero_ps
#define RPV_SET1_PS _mm512_set1_ps
#define RPV_MUL _mm512_mul_ps
#define RPV_SUB _mm512_sub_ps
#define RPV_ADD _mm512_add_ps
#define RPV_FMA _mm512_fmadd_ps
#define RPV_CVT _mm512_cvtepi32_ps
#define RPV_STOREU _mm512_storeu_ps
#define VK_RP_DPBUSD_W _mm512_dpbusd_epi32
#include "gemm_rp_body.h"
#endif

// One instance per type, row count and width so the loops unroll and the type switch folds away.
#define VK_RP_INST(T, MR, W)                                                                       \
    VK_RP_TARGET __attribute__((noinline)) static void rp_##T##_##MR##_##W(                       \
        const vk_act_q8 *a, int terms, const void *panel, int64_t pb, int64_t k, float *y, int64_t ldy, \
        int64_t nc) {                                                                              \
        rp_kernel_##W(VK_TYPE_##T, a, MR, terms, (const uint8_t *)panel, pb, k, y, ldy, nc);       \
    }
#define VK_RP_INST4(T, W) VK_RP_INST(T, 1, W) VK_RP_INST(T, 2, W) VK_RP_INST(T, 3, W) VK_RP_INST(T, 4, W)
#define VK_RP_INST8(T, W) VK_RP_INST4(T, W) VK_RP_INST(T, 5, W) VK_RP_INST(T, 6, W) VK_RP_INST(T, 7, W) VK_RP_INST(T, 8, W)
typedef void (*vk_rp_fn)(const vk_act_q8 *a, int terms, const void *panel, int64_t pb, int64_t k, float *y,
                         int64_t ldy, int64_t nc);
#if VK_RP_MR == 8
#define VK_RP_FNS(T, W) {rp_##T##_1_##W, rp_##T##_2_##W, rp_##T##_3_##W, rp_##T##_4_##W, \
                         rp_##T##_5_##W, rp_##T##_6_##W, rp_##T##_7_##W, rp_##T##_8_##W}
#define VK_RP_TYPE(T) VK_RP_INST8(T, 256) VK_RP_INST8(T, 512) \
    static const vk_rp_fn rp_fns_##T[2][8] = {VK_RP_FNS(T, 256), VK_RP_FNS(T, 512)};
#else
#define VK_RP_TYPE(T) VK_RP_INST4(T, 256) \
    static const vk_rp_fn rp_fns_##T[1][4] = {{rp_##T##_1_256, rp_##T##_2_256, rp_##T##_3_256, rp_##T##_4_256}};
#endif
VK_RP_TYPE(Q4_0)
VK_RP_TYPE(Q4_1)
VK_RP_TYPE(Q5_0)
VK_RP_TYPE(Q5_1)
VK_RP_TYPE(Q4_K)
VK_RP_TYPE(Q5_K)
VK_RP_TYPE(Q6_K)
#if VK_RP_Q8
VK_RP_TYPE(Q8_0)
VK_RP_TYPE(IQ4_NL)
VK_RP_TYPE(IQ4_XS)
VK_RP_TYPE(MXFP4)
#endif

// y[i * ldy + c] = dot(row c of the panels at rp, activation row i) for i < m, c < rows; activation
// row i is `terms` quantized rows (act_q8.c) from q + terms * i * vk_act_q8_bytes(k), whose
// products are summed. Each panel (two at a time where `panels` is 2: 512-bit) meets every
// activation row while it is in L1; the activation views are set up once.
VK_RP_TARGET void VK_RP_GEMM(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                             int64_t rows, int64_t k, float *y, int64_t ldy) {
    // A type without a kernel here runs the portable one rather than another type's layout.
    const vk_rp_fn(*fns)[VK_RP_MR];
    switch (type) {
    case VK_TYPE_Q4_0: fns = rp_fns_Q4_0; break;
    case VK_TYPE_Q4_1: fns = rp_fns_Q4_1; break;
    case VK_TYPE_Q5_0: fns = rp_fns_Q5_0; break;
    case VK_TYPE_Q5_1: fns = rp_fns_Q5_1; break;
    case VK_TYPE_Q4_K: fns = rp_fns_Q4_K; break;
    case VK_TYPE_Q5_K: fns = rp_fns_Q5_K; break;
    case VK_TYPE_Q6_K: fns = rp_fns_Q6_K; break;
#if VK_RP_Q8
    case VK_TYPE_Q8_0: fns = rp_fns_Q8_0; break;
    case VK_TYPE_IQ4_NL: fns = rp_fns_IQ4_NL; break;
    case VK_TYPE_IQ4_XS: fns = rp_fns_IQ4_XS; break;
    case VK_TYPE_MXFP4: fns = rp_fns_MXFP4; break;
#endif
    // A type without a kernel here runs the portable one rather than another type's layout.
    default: vk_gemm_rp_portable(type, q, m, terms, rp, pb, panels, rows, k, y, ldy); return;
    }
    const int64_t qbytes = vk_act_q8_bytes(k), n = m * terms;
    const int per = VK_RP_MR / terms * terms;  // quantized rows per call: whole activation rows
    vk_act_q8 a[VK_RP_MAX_QROWS];
    for (int64_t j = 0; j < n; j++) a[j] = vk_act_q8_view((const char *)q + j * qbytes, k);
    for (int64_t r = 0; r < rows; r += 8 * panels) {
        const int np = panels > 1 && rows - r > 8 ? 2 : 1;
        const int64_t nc = rows - r < 8 * np ? rows - r : 8 * np;
        const char *panel = (const char *)rp + r / 8 * pb;
        for (int64_t i = 0; i < n; i += per) {
            const int64_t mr = n - i < per ? n - i : per;
            fns[np - 1][mr - 1](a + i, terms, panel, pb, k, y + i / terms * ldy + r, ldy, nc);
        }
    }
}
