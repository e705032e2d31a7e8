// Internal declarations shared by the kernel files: the per-level implementations and the
// dispatch table that dispatch.c fills at load time.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "ckernels.h"
#include "attention_rows.h"

// Every AVX2 function carries this attribute; no global -m flags are used.
#define VK_AVX2 __attribute__((target("avx2,fma,f16c")))
// Level 2 (AVX-512 F/BW/VL with VNNI, on top of level 1's AVX2/FMA/F16C).
#define VK_AVX512_FEATURES "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define VK_AVX512 __attribute__((target(VK_AVX512_FEATURES)))

// Largest block (elements) of any type; dequantization chunks are multiples of it.
#define VK_MAX_BLOCK 256

// Activation rows per packed group (the GEMM microkernel's height); see vk_pack_activations.
#define VK_MR VK_PACK_ROWS

// Columns of one k-block of the GEMM: a [VK_GEMM_KC][16] panel slice (16 KB) stays in L1 while
// the activation rows stream over it.
#define VK_GEMM_KC 256

// Widest batch of activation rows the multi-row dot kernels take at once.
#define VK_MULTI_MAX 4
// Most quantized activation rows one vk_kernels.gemm_rp call takes.
#define VK_RP_MAX_QROWS 256

// A view of one activation row in the int8 format of act_q8.c: per 32-element block b a scale
// d[b] (x ≈ d[b] * q) and the block's dequantized sum xs[b] = d[b] * sum(q), per 16 elements the
// sum s[] of q, and q itself.
typedef struct {
    const float *d;
    const float *xs;
    const int16_t *s;
    const int8_t *q;
} vk_act_q8;
vk_act_q8 vk_act_q8_view(const void *p, int64_t k);
float vk_act_q8_next_inv(float inv);
// A residual term's scale is the previous term's / 2^VK_TERM_SHIFT (act_q8.c).
#define VK_TERM_SHIFT 8

typedef struct {
    int level;
    void (*dequantize_row)(int type, const void *src, float *dst, int64_t n);
    float (*dot_row)(int type, const void *w, const float *x, int64_t n);
    // out[i * ldout] = dot(w, x + i * ldx) for i < nx (nx <= VK_MULTI_MAX).
    void (*dot_row_multi)(int type, const void *w, const float *x, int64_t ldx, int64_t nx,
                          int64_t n, float *out, int64_t ldout);
    // y[i * ldy + r] = dot(row r, x + i * ldx) for r < nr stored rows rowbytes apart and i < m,
    // for the float types (returns 0 for the others: the caller runs dot_row_multi). NULL: none.
    int (*dot_float_rows)(int type, const void *w, int64_t rowbytes, int64_t nr, const float *x, int64_t ldx,
                          int64_t m, int64_t n, float *y, int64_t ldy);
    // vk_quantize_act_q8_terms, bit for bit the same at every level.
    void (*quantize_act_q8_terms)(const float *x, int64_t k, int terms, void *out);
    // out[i * ldout] = dot(w, dequantized a[i]) for i < nx (<= VK_MULTI_MAX), for the types
    // vk_matmul_int8_supported names (stored rows the level does not repack). NULL: no int8
    // path at this level.
    void (*dot_q8act_multi)(int type, const void *w, int64_t n, const vk_act_q8 *a, int64_t nx,
                            float *out, int64_t ldout);
    // Rows [0, rows) of weights repacked at load (repack_q8.c), from the 8-row panel at rp on
    // (panels pb bytes apart, taken `panels` (<= rp_panels) at a time), times m activation rows,
    // each `terms` rows quantized by vk_quantize_act_q8(_terms) whose products are summed
    // (m * terms <= VK_RP_MAX_QROWS): y[i * ldy + c]; for the types vk_type_rp_class puts at
    // or below rp_class.
    void (*gemm_rp)(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                    int64_t rows, int64_t k, float *y, int64_t ldy);
    int rp_class;
    int rp_panels;
    // Dequantizes columns [kb, kb + kc) of `rows` (<= 16) rows of repacked panels (the first at
    // rp, the second pb bytes on) into a [kc][16] panel, kb a multiple of the type's record;
    // columns past `rows` are zero or the panels' next rows (the GEMM ignores them).
    void (*pack_panel_rp)(int type, const char *rp, int64_t pb, int64_t kb, int64_t kc, int64_t rows,
                          float *panel);
    // Dequantizes `rows` (<= 16) rows of k elements, rowbytes apart, into a [k][16] panel
    // (missing rows are zero).
    void (*pack_panel)(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                       float *panel);
    // y[i * ldy + c] (+)= sum_kk x[i][kb + kk] * panel[kk * 16 + c], i < m, c < nc <= 16,
    // kk < kc, with x (k columns) packed by vk_pack_activations; adds to y when accumulate.
    void (*gemm_panel)(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                       int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate);
    void (*rmsnorm)(const float *x, const float *w, float *out, int64_t n, float eps);
    void (*softmax)(float *x, int64_t n);
    double (*log_sum_exp)(const float *x, int64_t n);
    void (*silu_mul)(const float *gate, const float *up, float *out, int64_t n);
    void (*gelu_tanh_mul)(const float *gate, const float *up, float *out, int64_t n);
    void (*swiglu_oai)(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit);
    void (*softcap)(float *x, int64_t n, float cap);
    void (*rope_rotate_half)(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                             const float *s);
    void (*rope_adjacent)(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                          const float *s);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*axpy_f32)(float a, const float *x, float *y, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
} vk_kernels;

// The process's table (the best level, set once at load), and the calling thread's forced one
// (vk_force_simd_level; NULL: none): a test that forces a level changes no other thread's results.
extern const vk_kernels *vk_kp;
extern _Thread_local const vk_kernels *vk_kp_forced;
static inline const vk_kernels *vk_kernels_now(void) { return vk_kp_forced ? vk_kp_forced : vk_kp; }
#define VK_K (*vk_kernels_now())

// Elements per record of the repacked layout of `type` (repack_q8.c), and its bytes per 8-row
// panel; 0 if the type has no repacked form.
int64_t vk_rp_record_elems(int type);
int64_t vk_rp_record_bytes(int type);
// The byte dot product a type's repacked values need: 0 no repacked form; 1 any (values up to 63
// keep vpmaddubsw's 16-bit pair sums from saturating); 2 a non-saturating one (AVX-512 VNNI, or
// the portable kernel). A kernel table's gemm_rp takes the types whose class is at most rp_class.
int vk_type_rp_class(int type);

// vk_matmul's fp32 GEMM (gemm.c) over stored rows wb, or over weights repacked at load rp (panel
// bytes pb) when wb is NULL; r0 a multiple of 8 for rp.
void vk_matmul_gemm(const vk_kernels *kt, int type, const char *wb, int64_t rowbytes, const char *rp, int64_t pb,
                    int64_t k, int64_t r0, int64_t r1, const float *packed, int64_t m, float *y, int64_t ldy,
                    float *scratch);

// The best table for this CPU (what vk_force_simd_level with any level above 1 restores).
const vk_kernels *vk_best_kernels(void);

// Portable (level 0) implementations.
void vk_dequantize_row_portable(int type, const void *src, float *dst, int64_t n);
float vk_dot_row_portable(int type, const void *w, const float *x, int64_t n);
void vk_dot_row_multi_portable(int type, const void *w, const float *x, int64_t ldx, int64_t nx,
                               int64_t n, float *out, int64_t ldout);
void vk_pack_panel_portable(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                            float *panel);
void vk_gemm_panel_portable(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                            int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate);
void vk_rmsnorm_portable(const float *x, const float *w, float *out, int64_t n, float eps);
void vk_softmax_portable(float *x, int64_t n);
double vk_log_sum_exp_portable(const float *x, int64_t n);
void vk_silu_mul_portable(const float *gate, const float *up, float *out, int64_t n);
void vk_gelu_tanh_mul_portable(const float *gate, const float *up, float *out, int64_t n);
void vk_swiglu_oai_portable(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit);
void vk_softcap_portable(float *x, int64_t n, float cap);
void vk_rope_rotate_half_portable(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                                  const float *s);
void vk_rope_adjacent_portable(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                               const float *s);
float vk_dot_f32_portable(const float *a, const float *b, int64_t n);
void vk_axpy_f32_portable(float a, const float *x, float *y, int64_t n);
void vk_f32_to_f16_portable(const float *src, uint16_t *dst, int64_t n);
void vk_quantize_act_q8_terms_portable(const float *x, int64_t k, int terms, void *out);
// The int8-activation dot of any type in plain C (dequantized weights times dequantized
// activations): what the SIMD int8 kernels fall back to for a type they have no kernel for.
void vk_dot_q8act_multi_portable(int type, const void *w, int64_t n, const vk_act_q8 *a, int64_t nx,
                                 float *out, int64_t ldout);
void vk_pack_panel_rp_portable(int type, const char *rp, int64_t pb, int64_t kb, int64_t kc, int64_t rows,
                               float *panel);
void vk_gemm_rp_portable(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                         int64_t rows, int64_t k, float *y, int64_t ldy);

#if defined(__x86_64__)
#define VK_HAVE_AVX2 1
#else
#define VK_HAVE_AVX2 0
#endif

#if VK_HAVE_AVX2
// AVX2 + FMA + F16C (level 1) implementations.
void vk_dequantize_row_avx2(int type, const void *src, float *dst, int64_t n);
float vk_dot_row_avx2(int type, const void *w, const float *x, int64_t n);
void vk_dot_row_multi_avx2(int type, const void *w, const float *x, int64_t ldx, int64_t nx,
                           int64_t n, float *out, int64_t ldout);
void vk_quantize_act_q8_terms_avx2(const float *x, int64_t k, int terms, void *out);
void vk_dot_q8act_multi_avx2(int type, const void *w, int64_t n, const vk_act_q8 *a,
                             int64_t nx, float *out, int64_t ldout);
void vk_pack_panel_rp_avx2(int type, const char *rp, int64_t pb, int64_t kb, int64_t kc, int64_t rows,
                           float *panel);
void vk_gemm_rp_avx2(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                     int64_t rows, int64_t k, float *y, int64_t ldy);
// AVX-512 (level 2) implementations; the rest of level 2 is level 1's.
void vk_gemm_rp_avx512(int type, const void *q, int64_t m, int terms, const void *rp, int64_t pb, int panels,
                       int64_t rows, int64_t k, float *y, int64_t ldy);
void vk_gemm_panel_avx512(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                          int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate);
void vk_pack_panel_avx2(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                        float *panel);
void vk_gemm_panel_avx2(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                        int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate);
void vk_rmsnorm_avx2(const float *x, const float *w, float *out, int64_t n, float eps);
void vk_softmax_avx2(float *x, int64_t n);
double vk_log_sum_exp_avx2(const float *x, int64_t n);
void vk_silu_mul_avx2(const float *gate, const float *up, float *out, int64_t n);
void vk_gelu_tanh_mul_avx2(const float *gate, const float *up, float *out, int64_t n);
void vk_swiglu_oai_avx2(const float *gate, const float *up, float *out, int64_t n, float alpha, float limit);
void vk_softcap_avx2(float *x, int64_t n, float cap);
void vk_rope_rotate_half_avx2(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                              const float *s);
void vk_rope_adjacent_avx2(float *x, int64_t n_heads, int64_t head_dim, const float *c,
                           const float *s);
float vk_dot_f32_avx2(const float *a, const float *b, int64_t n);
int vk_dot_float_rows_avx2(int type, const void *w, int64_t rowbytes, int64_t nr, const float *x, int64_t ldx,
                           int64_t m, int64_t n, float *y, int64_t ldy);
void vk_axpy_f32_avx2(float a, const float *x, float *y, int64_t n);
void vk_f32_to_f16_avx2(const float *src, uint16_t *dst, int64_t n);
// Attention of g query heads over the n positions `kv` describes (hd % 32 == 0); see attention.c.
void vk_attention_avx2(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int kv_type,
                       int64_t n, float scale, float softcap, float *scores, float *out, float *mx, float *sum);
#endif

#endif
