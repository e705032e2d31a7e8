// Pure compute kernels over raw pointers: no allocation, no threads, no global state other than
// the CPU-feature dispatch table that is filled once at load time.
//
// Quantized block layouts follow ggml's `ggml-common.h` (the GGUF tensor data format) exactly.
// Matmul convention (as ggml/GGUF): a weight matrix has `rows` rows of `k` elements each, stored
// row after row; each row is a whole number of blocks. y[m][r] = sum_k x[m][k] * W[r][k].
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "cpu_relax.h"
#include "attention.h"

#ifdef __cplusplus
extern "C" {
#endif

/// ggml tensor type ids, as stored in GGUF tensor infos.
enum vk_type {
    VK_TYPE_F32 = 0,
    VK_TYPE_F16 = 1,
    VK_TYPE_Q4_0 = 2,
    VK_TYPE_Q4_1 = 3,
    VK_TYPE_Q5_0 = 6,
    VK_TYPE_Q5_1 = 7,
    VK_TYPE_Q8_0 = 8,
    VK_TYPE_Q2_K = 10,
    VK_TYPE_Q3_K = 11,
    VK_TYPE_Q4_K = 12,
    VK_TYPE_Q5_K = 13,
    VK_TYPE_Q6_K = 14,
    VK_TYPE_Q8_K = 15,
    VK_TYPE_IQ4_NL = 20,
    VK_TYPE_IQ4_XS = 23,
    VK_TYPE_BF16 = 30,
    VK_TYPE_MXFP4 = 39,
};

/// Elements per block of `type` (1 for F32/F16/BF16), 0 if unsupported.
int64_t vk_type_block_elems(int type);
/// Bytes per block of `type`, 0 if unsupported.
int64_t vk_type_block_bytes(int type);

/// Which SIMD path the dispatcher picked: 0 = portable C, 1 = AVX2+FMA+F16C, 2 = level 1 plus
/// AVX-512 (F, BW, VL, VNNI) kernels where they pay.
int vk_simd_level(void);
/// Forces the portable path (0), the AVX2 path (1, where the CPU has it), or re-enables the best
/// one (any other value), for the calling thread only; for tests.
void vk_force_simd_level(int level);

/// Dequantizes `n` elements (a multiple of the block size) to fp32. Exact: the value ggml defines.
void vk_dequantize_row(int type, const void *src, float *dst, int64_t n);
/// Scalar reference of `vk_dequantize_row`.
void vk_dequantize_row_ref(int type, const void *src, float *dst, int64_t n);

/// Dot product of one stored row (`n` elements of `type`) with fp32 `x`, accumulated in fp32
/// from exactly dequantized weights (activations are never quantized).
float vk_dot_row(int type, const void *w, const float *x, int64_t n);
/// Scalar reference of `vk_dot_row` (dequantize, then a plain fp64 sum).
double vk_dot_row_ref(int type, const void *w, const float *x, int64_t n);

/// Activation precision of vk_matmul.
enum vk_act {
    /// Exact: fp32 activations times exactly dequantized weights.
    VK_ACT_F32 = 0,
    /// Opt-in: activations quantized to int8 per 32 elements (vk_quantize_act_q8) for the types
    /// vk_matmul_int8_supported names; faster, less faithful. Other types stay fp32.
    VK_ACT_INT8 = 1,
};

/// y[i * ldy + (r - r0)] = dot(W row r, x[i * ldx ...]) for i in [0, m), r in [r0, r1).
/// `prepared` is x made ready once for every thread and weight that reads it, or NULL:
/// - when `vk_matmul_takes_int8(type, m, act)`: the m rows quantized by vk_quantize_act_q8,
///   vk_act_q8_bytes(k) bytes apart; with NULL, rows that fit `scratch` are quantized there, and
///   otherwise the fp32 dots run;
/// - otherwise when `vk_matmul_uses_gemm(type, m, act)` (enough rows that dequantizing a panel of
///   weight rows once and running an fp32 GEMM beats per-row dots): x packed by
///   vk_pack_activations; with NULL the per-row fp32 dots run instead, to the same result up to
///   fp32 rounding.
/// `scratch` holds `vk_matmul_scratch_floats(k)` floats (or is NULL: no GEMM, no block sums).
void vk_matmul(int type, const void *w, int64_t k, int64_t r0, int64_t r1,
               const float *x, int64_t ldx, int64_t m, const void *prepared,
               float *y, int64_t ldy, float *scratch, int act);
int vk_matmul_uses_gemm(int type, int64_t m, int act);
/// Whether vk_matmul with precision `act` multiplies `type` weights with m int8 activation rows
/// (up to 32 rows; longer batches run the fp32 GEMM).
int vk_matmul_takes_int8(int type, int64_t m, int act);
int64_t vk_matmul_scratch_floats(int64_t k);
/// Rows per packed activation group.
#define VK_PACK_ROWS 6
/// Floats `vk_pack_activations` writes for m rows of k columns.
int64_t vk_packed_activation_floats(int64_t m, int64_t k);
/// Packs the row groups [g0, g1) (VK_PACK_ROWS rows each; the last one zero-padded) of the m x k matrix x
/// for the GEMM path; disjoint group ranges may be packed by different threads.
void vk_pack_activations(const float *x, int64_t ldx, int64_t m, int64_t k, int64_t g0, int64_t g1,
                         float *packed);

/// Weights repacked at load (repack_q8.c) for the int8 kernels and the fp32 GEMM: 8 rows
/// interleaved per panel, 4-bit types still 4-bit, scales as stored. Bytes of one panel of rows of k elements of `type`, or 0
/// when the type has no repacked form (or k is not a whole number of its records).
int64_t vk_repack_panel_bytes(int type, int64_t k);
/// Bytes of the repacked form of `rows` rows (panels of 8; the last one zero-padded).
int64_t vk_repack_bytes(int type, int64_t rows, int64_t k);
/// Whether this CPU's best SIMD level has a fast kernel for repacked `type` weights: what a
/// loader should repack.
int vk_repack_preferred(int type);
/// Writes panels [p0, p1) of the repacked form of `rows` rows of k elements at w (disjoint panel
/// ranges may be written by different threads).
void vk_repack(int type, const void *w, int64_t rows, int64_t k, int64_t p0, int64_t p1, void *out);
/// y[i * ldy + (r - r0)] = dot(W row r, activation row i) for i < m, r in [r0, r1) (r0 a multiple
/// of 8), W repacked by vk_repack at rp. Activation row i is `terms` (1 or 2) consecutive rows in
/// the int8 format (vk_quantize_act_q8, or vk_quantize_act_q8_terms) at q, vk_act_q8_bytes(k)
/// apart, whose products are summed; with terms 0, q is x packed by vk_pack_activations for the
/// fp32 GEMM, which dequantizes repacked panels into `scratch` (vk_matmul_scratch_floats(k)).
void vk_matmul_repacked(int type, const void *rp, int64_t k, int64_t r0, int64_t r1, const void *q,
                        int64_t m, int terms, float *y, int64_t ldy, float *scratch);

/// Whether vk_matmul's VK_ACT_INT8 path covers `type` on this CPU's SIMD level.
int vk_matmul_int8_supported(int type);
/// Bytes of one activation row of k elements (a multiple of 32) in the int8 format.
int64_t vk_act_q8_bytes(int64_t k);
/// Quantizes an activation row to the int8 format: per 32 elements d = max|x| / 127 and
/// q = round(x / d), plus the sums of q over each 16 elements.
void vk_quantize_act_q8(const float *x, int64_t k, void *out);
/// Quantizes x as `terms` (1 or 2) int8-format rows, vk_act_q8_bytes(k) apart, the second the
/// rounding error of the first quantized again at 1/256 of its scale: their sum stands for x to
/// within max|x| / (127 * 256) per 32-element block (~15 bits of the block's largest element),
/// for matmuls that need near-fp32 inputs at about int8 speed.
void vk_quantize_act_q8_terms(const float *x, int64_t k, int terms, void *out);
/// The values an int8-format row stands for: x[i] = d[i / 32] * q[i] (the scalar reference of
/// the int8 path is vk_dot_row_ref on these).
void vk_dequantize_act_q8(const void *act, int64_t k, float *x);

/// out = x / sqrt(mean(x^2) + eps) * w, n elements.
void vk_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps);
/// In place: x = exp(x - max) / sum, n elements.
void vk_softmax(float *x, int64_t n);
/// log(sum exp(x[i])) over n elements (the log-softmax normalizer), shifted by the maximum and
/// summed in fp32 per 1024 elements, in double across them; -inf when every x is -inf (or n is 0).
double vk_log_sum_exp(const float *x, int64_t n);
/// STREAM-style triad a[i] = b[i] + s * c[i] (memory-bandwidth probe).
void vk_triad_f32(float *a, const float *b, const float *c, float s, int64_t n);
/// Runs `iterations` rounds of independent fp32 FMA chains (peak FLOP/s probe) and returns
/// their sum, exactly 96 * iterations up to 2^24 iterations (so the work cannot be skipped).
double vk_fma_peak(int64_t iterations);
/// fp32 floating-point operations per round of `vk_fma_peak` on this CPU's path (192).
int64_t vk_fma_peak_flops_per_iteration(void);

/// out[i] = silu(gate[i]) * up[i].
void vk_silu_mul(const float *gate, const float *up, float *out, int64_t n);
/// out[i] = gelu_tanh(gate[i]) * up[i] (PyTorch's gelu with approximate="tanh"; Gemma's MLP).
void vk_gelu_tanh_mul(const float *gate, const float *up, float *out, int64_t n);
/// gpt-oss's clamped SwiGLU (transformers' GptOssExperts): g = min(gate[i], limit),
/// u = clamp(up[i], -limit, limit), out[i] = (u + 1) * g * sigmoid(alpha * g).
void vk_swiglu_oai(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit);
/// In place: x = cap * tanh(x / cap) (Gemma 2's logit soft-capping), n elements.
void vk_softcap(float *x, int64_t n, float cap);
/// Rotates adjacent pairs (x[2i], x[2i+1]) of each of `n_heads` heads (head_dim apart) by
/// cos/sin[i] (head_dim/2 entries each), as GGUF's "normal" (non-NeoX) rope.
void vk_rope_adjacent(float *x, int64_t n_heads, int64_t head_dim,
                      const float *cos_, const float *sin_);
/// Rotates each head of x as Hugging Face / NeoX rope does: pair i is (x[i], x[i + head_dim/2]).
void vk_rope_rotate_half(float *x, int64_t n_heads, int64_t head_dim,
                         const float *cos_, const float *sin_);
/// fp32 dot product.
float vk_dot_f32(const float *a, const float *b, int64_t n);
/// y += a * x, n elements.
void vk_axpy_f32(float a, const float *x, float *y, int64_t n);
/// dst = src rounded to IEEE binary16 (nearest even), n elements.
void vk_f32_to_f16(const float *src, uint16_t *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
