// Runtime dispatch: picks the best kernel set for this CPU once, at load time.
#include "internal.h"

static const vk_kernels vk_portable = {
    .level = 0,
    .dequantize_row = vk_dequantize_row_portable,
    .dot_row = vk_dot_row_portable,
    .dot_row_multi = vk_dot_row_multi_portable,
    .quantize_act_q8_terms = vk_quantize_act_q8_terms_portable,
    .dot_q8act_multi = NULL,
    .gemm_rp = vk_gemm_rp_portable,
    .rp_class = 2,
    .rp_panels = 1,
    .pack_panel_rp = vk_pack_panel_rp_portable,
    .pack_panel = vk_pack_panel_portable,
    .gemm_panel = vk_gemm_panel_portable,
    .rmsnorm = vk_rmsnorm_portable,
    .softmax = vk_softmax_portable,
    .log_sum_exp = vk_log_sum_exp_portable,
    .silu_mul = vk_silu_mul_portable,
    .gelu_tanh_mul = vk_gelu_tanh_mul_portable,
    .swiglu_oai = vk_swiglu_oai_portable,
    .softcap = vk_softcap_portable,
    .rope_adjacent = vk_rope_adjacent_portable,
    .rope_rotate_half = vk_rope_rotate_half_portable,
    .dot_f32 = vk_dot_f32_portable,
    .axpy_f32 = vk_axpy_f32_portable,
    .f32_to_f16 = vk_f32_to_f16_portable,
};

#if VK_HAVE_AVX2
static const vk_kernels vk_avx2 = {
    .level = 1,
    .dequantize_row = vk_dequantize_row_avx2,
    .dot_row = vk_dot_row_avx2,
    .dot_row_multi = vk_dot_row_multi_avx2,
    .dot_float_rows = vk_dot_float_rows_avx2,
    .quantize_act_q8_terms = vk_quantize_act_q8_terms_avx2,
    .dot_q8act_multi = vk_dot_q8act_multi_avx2,
    .gemm_rp = vk_gemm_rp_avx2,
    .rp_class = 1,
    .rp_panels = 1,
    .pack_panel_rp = vk_pack_panel_rp_avx2,
    .pack_panel = vk_pack_panel_avx2,
    .gemm_panel = vk_gemm_panel_avx2,
    .rmsnorm = vk_rmsnorm_avx2,
    .softmax = vk_softmax_avx2,
    .log_sum_exp = vk_log_sum_exp_avx2,
    .silu_mul = vk_silu_mul_avx2,
    .gelu_tanh_mul = vk_gelu_tanh_mul_avx2,
    .swiglu_oai = vk_swiglu_oai_avx2,
    .softcap = vk_softcap_avx2,
    .rope_adjacent = vk_rope_adjacent_avx2,
    .rope_rotate_half = vk_rope_rotate_half_avx2,
    .dot_f32 = vk_dot_f32_avx2,
    .axpy_f32 = vk_axpy_f32_avx2,
    .f32_to_f16 = vk_f32_to_f16_avx2,
};

// Level 1 with the AVX-512 kernels in place; filled once by vk_dispatch_init.
static vk_kernels vk_avx512;
#endif

const vk_kernels *vk_kp = &vk_portable;
_Thread_local const vk_kernels *vk_kp_forced;

const vk_kernels *vk_best_kernels(void) {
#if VK_HAVE_AVX2
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
        !__builtin_cpu_supports("f16c"))
        return &vk_portable;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
        return &vk_avx512;
    }
    return &vk_avx2;
#endif
    return &vk_portable;
}

__attribute__((constructor)) static void vk_dispatch_init(void) {
#if VK_HAVE_AVX2
    vk_avx512 = vk_avx2;
    vk_avx512.level = 2;
    vk_avx512.gemm_panel = vk_gemm_panel_avx512;
    vk_avx512.gemm_rp = vk_gemm_rp_avx512;
    vk_avx512.rp_class = 2;
    vk_avx512.rp_panels = 2;
#endif
    vk_kp = vk_best_kernels();
}

int vk_simd_level(void) { return VK_K.level; }

void vk_force_simd_level(int level) {
    const vk_kernels *best = vk_best_kernels(), *k = best;
#if VK_HAVE_AVX2
    if (level == 1 && best->level > 1) k = &vk_avx2;
#endif
    if (level == 0) k = &vk_portable;
    vk_kp_forced = k == best ? NULL : k;
}

// Public entry points.
void vk_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    VK_K.dequantize_row(type, src, dst, n);
}
float vk_dot_row(int type, const void *w, const float *x, int64_t n) {
    return VK_K.dot_row(type, w, x, n);
}
void vk_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps) {
    VK_K.rmsnorm(x, w, out, n, eps);
}
void vk_softmax(float *x, int64_t n) { VK_K.softmax(x, n); }
double vk_log_sum_exp(const float *x, int64_t n) { return VK_K.log_sum_exp(x, n); }
void vk_silu_mul(const float *gate, const float *up, float *out, int64_t n) {
    VK_K.silu_mul(gate, up, out, n);
}
void vk_gelu_tanh_mul(const float *gate, const float *up, float *out, int64_t n) {
    VK_K.gelu_tanh_mul(gate, up, out, n);
}
void vk_swiglu_oai(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit) {
    VK_K.swiglu_oai(gate, up, out, n, alpha, limit);
}
void vk_softcap(float *x, int64_t n, float cap) { VK_K.softcap(x, n, cap); }
void vk_rope_adjacent(float *x, int64_t n_heads, int64_t head_dim, const float *cos_,
                      const float *sin_) {
    VK_K.rope_adjacent(x, n_heads, head_dim, cos_, sin_);
}
void vk_rope_rotate_half(float *x, int64_t n_heads, int64_t head_dim, const float *cos_,
                         const float *sin_) {
    VK_K.rope_rotate_half(x, n_heads, head_dim, cos_, sin_);
}
float vk_dot_f32(const float *a, const float *b, int64_t n) { return VK_K.dot_f32(a, b, n); }
void vk_axpy_f32(float a, const float *x, float *y, int64_t n) { VK_K.axpy_f32(a, x, y, n); }
void vk_f32_to_f16(const float *src, uint16_t *dst, int64_t n) { VK_K.f32_to_f16(src, dst, n); }
