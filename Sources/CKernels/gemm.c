// vk_matmul, on weights as stored. fp32 activations: per-row dot kernels for a few activation
// rows, a packed-panel fp32 GEMM otherwise (also over weights repacked at load, for
// vk_matmul_repacked). Int8 activations (opt-in): multi-row int8 dots of stored Q8_0 rows
// (dot_q8act_avx2.c) up to VK_INT8_MAX_M rows. Weights the model repacks at load run repack_q8.c's
// kernels instead.
//
// fp32 GEMM path: 16 weight rows at a time are dequantized into `scratch` as a panel laid out
// [k][16] (the 16 row values of column kk are contiguous), then the active gemm_panel kernel
// computes y[i][r0+c] for the activation rows against that panel. The activations come
// packed by vk_pack_activations in groups of VK_MR rows laid out [k][VK_MR], so the kernel
// reads them as one sequential stream; the caller packs once per x and shares it between
// threads and between the matmuls that read the same x (Q, K, V; gate, up).
#include <string.h>

#include "internal.h"

#define VK_NR 16            // weight rows per panel
// Activation rows per m-block of the GEMM: 240 x VK_GEMM_KC floats (240 KB) fit L2; a multiple
// of 12 (two packed groups, the AVX-512 kernel's height).
#define VK_GEMM_MC 240

// Below this many activation rows, per-row dot kernels beat dequantize + GEMM (measured on the
// 2-core Zen 3 machine with the kernels' own benchmark): Q8_0's multi-row dots share each
// unpacked block between 4 rows; the other types' dots dequantize chunks as the GEMM does.
// 16-bit and fp32 weights go through tiles of stored rows x activation rows that need no
// dequantizing (dot_float_rows); they beat the GEMM up to 16 rows (README, Speculative decoding).
static int64_t gemm_min_m(int type) {
    if (type == VK_TYPE_F16 || type == VK_TYPE_BF16 || type == VK_TYPE_F32) return 17;
    return type == VK_TYPE_Q8_0 ? 9 : 4;
}

// Int8 mode on stored weights: the multi-row int8 dots up to VK_INT8_MAX_M rows; beyond that the
// fp32 GEMM is as fast (measured with the kernels' benchmark on Zen 3 and Zen 5).
#define VK_INT8_MAX_M 32

int vk_matmul_takes_int8(int type, int64_t m, int act) {
    return act == VK_ACT_INT8 && m <= VK_INT8_MAX_M && vk_matmul_int8_supported(type);
}

int vk_matmul_uses_gemm(int type, int64_t m, int act) {
    return !vk_matmul_takes_int8(type, m, act) && m >= gemm_min_m(type);
}

int64_t vk_packed_activation_floats(int64_t m, int64_t k) {
    return (m + VK_MR - 1) / VK_MR * VK_MR * (k > 0 ? k : 0);
}

void vk_pack_activations(const float *x, int64_t ldx, int64_t m, int64_t k, int64_t g0, int64_t g1,
                         float *packed) {
    for (int64_t g = g0; g < g1; g++) {
        float *dst = packed + g * k * VK_MR;
        for (int r = 0; r < VK_MR; r++) {
            const int64_t i = g * VK_MR + r;
            if (i < m) {
                const float *xr = x + i * ldx;
                for (int64_t kk = 0; kk < k; kk++) dst[kk * VK_MR + r] = xr[kk];
            } else {
                for (int64_t kk = 0; kk < k; kk++) dst[kk * VK_MR + r] = 0.0f;
            }
        }
    }
}

int64_t vk_matmul_scratch_floats(int64_t k) {
    return VK_NR * (k > 0 ? k : 0) + VK_NR;
}

void vk_pack_panel_portable(int type, const char *w, int64_t rowbytes, int64_t k, int64_t rows,
                            float *panel) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    float buf[VK_MAX_BLOCK];
    for (int64_t r = 0; r < rows; r++) {
        const char *wr = w + r * rowbytes;
        if (type == VK_TYPE_F32) {
            const float *f = (const float *)wr;
            for (int64_t j = 0; j < k; j++) panel[j * VK_NR + r] = f[j];
            continue;
        }
        for (int64_t i = 0; i < k; i += VK_MAX_BLOCK) {
            const int64_t len = k - i < VK_MAX_BLOCK ? k - i : VK_MAX_BLOCK;
            vk_dequantize_row_portable(type, wr + (i / be) * bb, buf, len);
            float *p = panel + i * VK_NR + r;
            for (int64_t j = 0; j < len; j++) p[j * VK_NR] = buf[j];
        }
    }
    for (int64_t r = rows; r < VK_NR; r++)
        for (int64_t j = 0; j < k; j++) panel[j * VK_NR + r] = 0.0f;
}

// The int8 dots: activation rows quantized once (act_q8.c), then the multi-row int8 dots. Weight
// rows go in tiles small enough to stay in L1/L2 while every group of activation rows passes
// over them.
#define VK_INT8_ROW_TILE 16

static void matmul_int8_dots(const vk_kernels *kt, int type, const char *wb, int64_t rowbytes, int64_t k,
                        int64_t r0, int64_t r1, const char *q, int64_t m, float *y, int64_t ldy) {
    const int64_t qbytes = vk_act_q8_bytes(k);
    for (int64_t t0 = r0; t0 < r1; t0 += VK_INT8_ROW_TILE) {
        const int64_t t1 = r1 - t0 < VK_INT8_ROW_TILE ? r1 : t0 + VK_INT8_ROW_TILE;
        for (int64_t i = 0; i < m; i += VK_MULTI_MAX) {
            const int64_t nx = m - i < VK_MULTI_MAX ? m - i : VK_MULTI_MAX;
            vk_act_q8 a[VK_MULTI_MAX];
            for (int64_t j = 0; j < nx; j++) a[j] = vk_act_q8_view(q + (i + j) * qbytes, k);
            for (int64_t r = t0; r < t1; r++)
                kt->dot_q8act_multi(type, wb + r * rowbytes, k, a, nx, y + i * ldy + (r - r0), ldy);
        }
    }
}

// fp32 per-row dots.
static void matmul_dots(const vk_kernels *kt, int type, const char *wb, int64_t rowbytes, int64_t k,
                        int64_t r0, int64_t r1, const float *x, int64_t ldx, int64_t m, float *y,
                        int64_t ldy) {
    if (kt->dot_float_rows != NULL && kt->dot_float_rows(type, wb + r0 * rowbytes, rowbytes, r1 - r0, x, ldx, m, k, y, ldy))
        return;
    for (int64_t r = r0; r < r1; r++) {
        const char *wr = wb + r * rowbytes;
        for (int64_t i = 0; i < m; i += VK_MULTI_MAX) {
            const int64_t nx = m - i < VK_MULTI_MAX ? m - i : VK_MULTI_MAX;
            kt->dot_row_multi(type, wr, x + i * ldx, ldx, nx, k, y + i * ldy + (r - r0), ldy);
        }
    }
}

// The fp32 GEMM, blocked so that one m-block's slice of the activations for one k-block
// (VK_GEMM_MC x VK_GEMM_KC floats) stays in L2 while every weight panel of the chunk passes over
// it; each panel slice is dequantized once per m-block, from the stored rows (wb) or from weights
// repacked at load (rp, panel bytes pb; then wb is NULL).
void vk_matmul_gemm(const vk_kernels *kt, int type, const char *wb, int64_t rowbytes, const char *rp, int64_t pb,
                    int64_t k, int64_t r0, int64_t r1, const float *packed, int64_t m, float *y, int64_t ldy,
                    float *scratch) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    for (int64_t i0 = 0; i0 < m; i0 += VK_GEMM_MC) {
        const int64_t mc = m - i0 < VK_GEMM_MC ? m - i0 : VK_GEMM_MC;
        for (int64_t kb = 0; kb < k; kb += VK_GEMM_KC) {
            const int64_t kc = k - kb < VK_GEMM_KC ? k - kb : VK_GEMM_KC;
            for (int64_t r = r0; r < r1; r += VK_NR) {
                const int64_t nc = r1 - r < VK_NR ? r1 - r : VK_NR;
                if (wb != NULL) kt->pack_panel(type, wb + r * rowbytes + kb / be * bb, rowbytes, kc, nc, scratch);
                else kt->pack_panel_rp(type, rp + r / 8 * pb, pb, kb, kc, nc, scratch);
                kt->gemm_panel(packed + i0 * k, mc, k, kb, scratch, kc, y + i0 * ldy + (r - r0), ldy,
                               nc, kb > 0);
            }
        }
    }
}

void vk_matmul(int type, const void *w, int64_t k, int64_t r0, int64_t r1,
               const float *x, int64_t ldx, int64_t m, const void *prepared,
               float *y, int64_t ldy, float *scratch, int act) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    if (be == 0 || r1 <= r0 || m <= 0 || k <= 0) return;
    const int64_t rowbytes = (k / be) * bb;
    const char *wb = (const char *)w;
    const vk_kernels *kt = vk_kernels_now();
    if (vk_matmul_takes_int8(type, m, act)) {
        if (prepared != NULL) {
            matmul_int8_dots(kt, type, wb, rowbytes, k, r0, r1, (const char *)prepared, m, y, ldy);
            return;
        }
        const int64_t qbytes = vk_act_q8_bytes(k);
        if (scratch != NULL && m * qbytes <= vk_matmul_scratch_floats(k) * (int64_t)sizeof(float)) {
            for (int64_t i = 0; i < m; i++) vk_quantize_act_q8(x + i * ldx, k, (char *)scratch + i * qbytes);
            matmul_int8_dots(kt, type, wb, rowbytes, k, r0, r1, (const char *)scratch, m, y, ldy);
            return;
        }
    } else if (m >= gemm_min_m(type) && scratch != NULL && prepared != NULL) {
        vk_matmul_gemm(kt, type, wb, rowbytes, NULL, 0, k, r0, r1, (const float *)prepared, m, y, ldy, scratch);
        return;
    }
    matmul_dots(kt, type, wb, rowbytes, k, r0, r1, x, ldx, m, y, ldy);
}

void vk_gemm_panel_portable(const float *packed, int64_t m, int64_t k, int64_t kb, const float *panel,
                            int64_t kc, float *y, int64_t ldy, int64_t nc, int accumulate) {
    for (int64_t i0 = 0; i0 < m; i0 += VK_MR) {
        const int64_t mr = m - i0 < VK_MR ? m - i0 : VK_MR;
        const float *a = packed + i0 * k + kb * VK_MR;
        float acc[VK_MR][VK_NR];
        memset(acc, 0, sizeof acc);
        for (int64_t kk = 0; kk < kc; kk++) {
            const float *b = panel + kk * VK_NR;
            for (int64_t i = 0; i < mr; i++)
                for (int c = 0; c < VK_NR; c++) acc[i][c] += a[kk * VK_MR + i] * b[c];
        }
        for (int64_t i = 0; i < mr; i++)
            for (int64_t c = 0; c < nc; c++)
                y[(i0 + i) * ldy + c] = accumulate ? y[(i0 + i) * ldy + c] + acc[i][c] : acc[i][c];
    }
}
