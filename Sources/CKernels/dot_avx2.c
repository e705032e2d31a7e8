// AVX2 + FMA + F16C dot products of one stored row with 1..4 fp32 activation rows, for the types
// models read as stored on this level (the others are repacked at load): Q8_0 factored per block
// (d * sum(q x)), Q2_K/Q3_K per sub-block, the float formats; the rest dequantize a chunk exactly
// and fma it. Products are accumulated in fp32 lanes.
#include "avx2_common.h"
#include "blocks.h"

#if VK_HAVE_AVX2

// ---- Q8_0, NX activation rows at once (weights unpacked once) ----

// Unpacked quants of one 32-element block: q[g] holds elements 8g .. 8g+7.
VK_AVX2_INLINE void unpack_q8_0(const vk_block_q8_0 *b, __m256 q[4]) {
    for (int g = 0; g < 4; g++) q[g] = _mm256_cvtepi32_ps(vk_i8x8(b->qs + 8 * g));
}

// sum over the block of q * x, as 8 lanes.
VK_AVX2_INLINE __m256 qx32(const __m256 q[4], const float *x) {
    const __m256 p0 = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(x + 8), _mm256_mul_ps(q[0], _mm256_loadu_ps(x)));
    const __m256 p1 = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(x + 24), _mm256_mul_ps(q[2], _mm256_loadu_ps(x + 16)));
    return _mm256_add_ps(p0, p1);
}

// acc[r] += d * sum(q x_r).
VK_AVX2_INLINE void q8_0_step(const vk_block_q8_0 *b, const float *x, int64_t ldx, int nx, __m256 *acc) {
    __m256 q[4];
    unpack_q8_0(b, q);
    const __m256 d = vk_f16c_bcast(&b->d);
    for (int r = 0; r < nx; r++) acc[r] = _mm256_fmadd_ps(d, qx32(q, x + r * ldx), acc[r]);
}

// Two accumulator sets for even/odd blocks.
VK_AVX2_INLINE void q8_0_nx(const vk_block_q8_0 *b, int64_t nb, const float *x, int64_t ldx, int nx, float *out,
                            int64_t ldout) {
    __m256 a0[VK_MULTI_MAX], a1[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) a0[r] = a1[r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        q8_0_step(b + i, x + i * VK_QK, ldx, nx, a0);
        q8_0_step(b + i + 1, x + (i + 1) * VK_QK, ldx, nx, a1);
    }
    if (i < nb) q8_0_step(b + i, x + i * VK_QK, ldx, nx, a0);
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(_mm256_add_ps(a0[r], a1[r]));
}

// Separate (non-inlined) instances per type and row count so each gets its own registers.
typedef void (*vk_nx_fn)(const void *w, int64_t nb, const float *x, int64_t ldx, float *out, int64_t ldout);
#define VK_INST(NAME, BLOCK, NX)                                                                   \
    VK_AVX2 __attribute__((noinline)) static void NAME##_x##NX(const void *w, int64_t nb,          \
                                                                const float *x, int64_t ldx,       \
                                                                float *out, int64_t ldout) {       \
        NAME##_nx((const BLOCK *)w, nb, x, ldx, NX, out, ldout);                                   \
    }
#define VK_INST4(NAME, BLOCK) \
    VK_INST(NAME, BLOCK, 1) VK_INST(NAME, BLOCK, 2) VK_INST(NAME, BLOCK, 3) VK_INST(NAME, BLOCK, 4) \
    static const vk_nx_fn NAME##_fns[VK_MULTI_MAX] = {NAME##_x1, NAME##_x2, NAME##_x3, NAME##_x4};
VK_INST4(q8_0, vk_block_q8_0)

// ---- Q2_K / Q3_K: 2-bit fields unpacked 32 at a time, shared by up to 4 activation rows ----

// Q2_K: per sub-block s of 16, (d*sc_s) * sum(q x) - (dmin*m_s) * sum(x), which is the sum of
// the exactly dequantized weights times x up to fp32 rounding.
VK_AVX2_INLINE void q2_K_nx(const vk_block_q2_K *b, int64_t nb, const float *x, int64_t ldx, int nx,
                            float *out, int64_t ldout) {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc[VK_MULTI_MAX], accm[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = accm[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d), dmin = vk_f16c_load(&b[i].dmin);
        for (int n = 0; n < 2; n++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * n));
            for (int j = 0; j < 4; j++) {
                const __m256i t = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m3);
                __m256 q[4];
                for (int g = 0; g < 4; g++) q[g] = _mm256_cvtepi32_ps(vk_bytes8_i32(t, g, 0));
                const uint8_t s0 = b[i].scales[8 * n + 2 * j], s1 = b[i].scales[8 * n + 2 * j + 1];
                const __m256 dl0 = _mm256_set1_ps(d * (float)(s0 & 15)), ml0 = _mm256_set1_ps(dmin * (float)(s0 >> 4));
                const __m256 dl1 = _mm256_set1_ps(d * (float)(s1 & 15)), ml1 = _mm256_set1_ps(dmin * (float)(s1 >> 4));
                for (int r = 0; r < nx; r++) {
                    const float *xr = x + r * ldx + 256 * i + 128 * n + 32 * j;
                    const __m256 x0 = _mm256_loadu_ps(xr), x1 = _mm256_loadu_ps(xr + 8);
                    const __m256 x2 = _mm256_loadu_ps(xr + 16), x3 = _mm256_loadu_ps(xr + 24);
                    const __m256 p0 = _mm256_fmadd_ps(q[1], x1, _mm256_mul_ps(q[0], x0));
                    const __m256 p1 = _mm256_fmadd_ps(q[3], x3, _mm256_mul_ps(q[2], x2));
                    acc[r] = _mm256_fmadd_ps(dl1, p1, _mm256_fmadd_ps(dl0, p0, acc[r]));
                    accm[r] = _mm256_fmadd_ps(ml1, _mm256_add_ps(x2, x3), _mm256_fmadd_ps(ml0, _mm256_add_ps(x0, x1), accm[r]));
                }
            }
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(_mm256_sub_ps(acc[r], accm[r]));
}

// Q3_K: per sub-block s of 16, (d*(sc_s - 32)) * sum(q x), q = low 2 bits | high bit << 2, - 4.
VK_AVX2_INLINE void q3_K_nx(const vk_block_q3_K *b, int64_t nb, const float *x, int64_t ldx, int nx,
                            float *out, int64_t ldout) {
    __m256 acc[VK_MULTI_MAX];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float d = vk_f16c_load(&b[i].d);
        uint8_t sc[16];
        vk_q3k_scales(b[i].scales, sc);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)b[i].hmask);
        for (int n = 0; n < 2; n++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * n));
            for (int j = 0; j < 4; j++) {
                const __m256i t = vk_q3k_values32(v, hm, n, j);
                __m256 q[4];
                for (int g = 0; g < 4; g++) q[g] = _mm256_cvtepi32_ps(vk_bytes8_i32(t, g, 1));
                const __m256 dl0 = _mm256_set1_ps(d * (float)(sc[8 * n + 2 * j] - 32));
                const __m256 dl1 = _mm256_set1_ps(d * (float)(sc[8 * n + 2 * j + 1] - 32));
                for (int r = 0; r < nx; r++) {
                    const float *xr = x + r * ldx + 256 * i + 128 * n + 32 * j;
                    const __m256 p0 = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xr + 8), _mm256_mul_ps(q[0], _mm256_loadu_ps(xr)));
                    const __m256 p1 = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xr + 24), _mm256_mul_ps(q[2], _mm256_loadu_ps(xr + 16)));
                    acc[r] = _mm256_fmadd_ps(dl1, p1, _mm256_fmadd_ps(dl0, p0, acc[r]));
                }
            }
        }
    }
    for (int r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(acc[r]);
}

VK_INST4(q2_K, vk_block_q2_K)
VK_INST4(q3_K, vk_block_q3_K)

// ---- the other block types: dequantized a chunk at a time into L1, then fma'd with each row ----

// Whether chunk_dot_nx serves `type`: the block types without a fused kernel above. Models never
// bring the types this level repacks here (vk_matmul_repacked runs them); their stored rows are
// read only through the public vk_matmul, so the exact dequantization is fast enough for them.
static int chunked_type(int type) {
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: case VK_TYPE_Q5_0: case VK_TYPE_Q5_1: case VK_TYPE_Q8_K:
    case VK_TYPE_Q4_K: case VK_TYPE_Q5_K: case VK_TYPE_Q6_K:
    case VK_TYPE_IQ4_NL: case VK_TYPE_IQ4_XS: case VK_TYPE_MXFP4:
        return 1;
    default:
        return 0;
    }
}

// out[r * ldout] = dot(w, x + r * ldx) for r < nx: each chunk of weights is dequantized once (the
// exact values, dequant_avx2.c) and shared by the nx rows. Chunks are whole blocks, so a
// multiple of 32 elements.
VK_AVX2 __attribute__((noinline)) static void chunk_dot_nx(int type, const void *w, const float *x, int64_t ldx,
                                                           int64_t nx, int64_t n, float *out, int64_t ldout) {
    const int64_t be = vk_type_block_elems(type), bb = vk_type_block_bytes(type);
    float buf[VK_MAX_BLOCK] __attribute__((aligned(32)));
    __m256 a0[VK_MULTI_MAX], a1[VK_MULTI_MAX];
    for (int64_t r = 0; r < nx; r++) a0[r] = a1[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += VK_MAX_BLOCK) {
        const int64_t len = n - i < VK_MAX_BLOCK ? n - i : VK_MAX_BLOCK;
        vk_dequantize_row_avx2(type, (const char *)w + (i / be) * bb, buf, len);
        for (int64_t r = 0; r < nx; r++) {
            const float *xr = x + r * ldx + i;
            for (int64_t j = 0; j < len; j += 16) {
                a0[r] = _mm256_fmadd_ps(_mm256_load_ps(buf + j), _mm256_loadu_ps(xr + j), a0[r]);
                a1[r] = _mm256_fmadd_ps(_mm256_load_ps(buf + j + 8), _mm256_loadu_ps(xr + j + 8), a1[r]);
            }
        }
    }
    for (int64_t r = 0; r < nx; r++) out[r * ldout] = vk_hsum256(_mm256_add_ps(a0[r], a1[r]));
}

// ---- float formats ----

VK_AVX2_INLINE __m256 ld_f32(const void *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }
VK_AVX2_INLINE __m256 ld_f16(const void *p, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
}
VK_AVX2_INLINE __m256 ld_bf16(const void *p, int64_t i) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
static inline float sc_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static inline float sc_f16(const void *p, int64_t i) { return vk_fp16_to_fp32(((const uint16_t *)p)[i]); }
static inline float sc_bf16(const void *p, int64_t i) { return vk_bf16_to_fp32(((const uint16_t *)p)[i]); }

// Tiles of R stored rows x C activation rows. Each (row, activation row) pair has one 8-lane
// accumulator over the elements in order, then its horizontal sum, then the scalar tail: the
// same order whatever the tile's shape, so a row's result does not depend on the rows batched
// with it (verifying speculated tokens in one pass reproduces single-token decoding's logits bit
// for bit). R x C accumulators hide the FMA latency; each widened weight vector serves C rows
// and each activation vector R rows, which keeps the loads below the FMAs.
typedef void (*vk_tile_fn)(const char *w, int64_t rowbytes, const float *x, int64_t ldx, int64_t n,
                           float *y, int64_t ldy);
#define VK_FLOAT_TILE(NAME, ES, R, C)                                                               \
    VK_AVX2 __attribute__((noinline)) static void NAME##_tile##R##x##C(                           \
        const char *w, int64_t rowbytes, const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy) { \
        __m256 acc[R][C];                                                                         \
        for (int r = 0; r < R; r++)                                                               \
            for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();                          \
        int64_t i = 0;                                                                            \
        const char *ahead = w + 2 * R * rowbytes;                                                 \
        const int64_t step = R * 8 * (int64_t)sizeof(ES);                                         \
        for (; i + 8 <= n; i += 8, ahead += step) {                                               \
            for (int64_t p = 0; p < step; p += 64) _mm_prefetch(ahead + p, _MM_HINT_T0);          \
            __m256 wv[R];                                                                         \
            for (int r = 0; r < R; r++) wv[r] = ld_##NAME(w + r * rowbytes, i);                   \
            for (int c = 0; c < C; c++) {                                                         \
                const __m256 xv = _mm256_loadu_ps(x + c * ldx + i);                               \
                for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);    \
            }                                                                                     \
        }                                                                                         \
        for (int r = 0; r < R; r++)                                                               \
            for (int c = 0; c < C; c++) {                                                         \
                float s = vk_hsum256(acc[r][c]);                                                  \
                for (int64_t j = i; j < n; j++) s += sc_##NAME(w + r * rowbytes, j) * x[c * ldx + j]; \
                y[c * ldy + r] = s;                                                               \
            }                                                                                     \
    }
// Per activation-row count C = 1..4: the main tile (4 stored rows for 1-2 activation rows, 2 for
// 3-4: the fastest shapes that keep the accumulators in registers) and a one-row tile for the
// rows left over. Each tile prefetches the rows two tiles ahead: hardware prefetchers lose track
// of several interleaved row streams.
#define VK_FLOAT_TILES(NAME, ES)                                                                    \
    VK_FLOAT_TILE(NAME, ES, 4, 1) VK_FLOAT_TILE(NAME, ES, 4, 2) VK_FLOAT_TILE(NAME, ES, 2, 3)                 \
    VK_FLOAT_TILE(NAME, ES, 2, 4) VK_FLOAT_TILE(NAME, ES, 1, 1) VK_FLOAT_TILE(NAME, ES, 1, 2)                 \
    VK_FLOAT_TILE(NAME, ES, 1, 3) VK_FLOAT_TILE(NAME, ES, 1, 4)                                           \
    static const vk_tile_fn NAME##_main[4] = {NAME##_tile4x1, NAME##_tile4x2, NAME##_tile2x3,     \
                                              NAME##_tile2x4};                                    \
    static const vk_tile_fn NAME##_one[4] = {NAME##_tile1x1, NAME##_tile1x2, NAME##_tile1x3,      \
                                             NAME##_tile1x4};
VK_FLOAT_TILES(f32, float)
VK_FLOAT_TILES(f16, uint16_t)
VK_FLOAT_TILES(bf16, uint16_t)
static const int tile_rows[4] = {4, 4, 2, 2};

// The tile kernels of a float type; NULL for the others.
static const vk_tile_fn *float_tiles(int type, int one) {
    switch (type) {
    case VK_TYPE_F32: return one ? f32_one : f32_main;
    case VK_TYPE_F16: return one ? f16_one : f16_main;
    case VK_TYPE_BF16: return one ? bf16_one : bf16_main;
    default: return NULL;
    }
}

// Blocks of 8 stored rows (the tiles' common multiple) stay in L1 while every group of up to 4
// activation rows passes over them.
VK_AVX2 int vk_dot_float_rows_avx2(int type, const void *w, int64_t rowbytes, int64_t nr, const float *x,
                                   int64_t ldx, int64_t m, int64_t n, float *y, int64_t ldy) {
    const vk_tile_fn *main = float_tiles(type, 0), *one = float_tiles(type, 1);
    if (main == NULL) return 0;
    const char *wb = (const char *)w;
    for (int64_t r0 = 0; r0 < nr; r0 += 8) {
        const int64_t r1 = nr - r0 < 8 ? nr : r0 + 8;
        for (int64_t i = 0; i < m; i += VK_MULTI_MAX) {
            const int c = m - i < VK_MULTI_MAX ? (int)(m - i) : VK_MULTI_MAX, rt = tile_rows[c - 1];
            int64_t r = r0;
            for (; r + rt <= r1; r += rt) main[c - 1](wb + r * rowbytes, rowbytes, x + i * ldx, ldx, n, y + i * ldy + r, ldy);
            for (; r < r1; r++) one[c - 1](wb + r * rowbytes, rowbytes, x + i * ldx, ldx, n, y + i * ldy + r, ldy);
        }
    }
    return 1;
}

static float float_dot(int type, const void *w, const float *x, int64_t n) {
    float out;
    float_tiles(type, 1)[0](w, 0, x, 0, n, &out, 0);
    return out;
}

VK_AVX2 float vk_dot_f32_avx2(const float *a, const float *b, int64_t n) {
    return n > 0 ? float_dot(VK_TYPE_F32, a, b, n) : 0.0f;
}

VK_AVX2 float vk_dot_row_avx2(int type, const void *w, const float *x, int64_t n) {
    const int64_t be = vk_type_block_elems(type);
    if (be == 0 || n <= 0) return 0.0f;
    const int64_t nb = n / be;
    float out = 0.0f;
    switch (type) {
    case VK_TYPE_F32: case VK_TYPE_F16: case VK_TYPE_BF16: return float_dot(type, w, x, n);
    case VK_TYPE_Q8_0: q8_0_x1(w, nb, x, 0, &out, 0); return out;
    case VK_TYPE_Q2_K: q2_K_x1(w, nb, x, 0, &out, 0); return out;
    case VK_TYPE_Q3_K: q3_K_x1(w, nb, x, 0, &out, 0); return out;
    default:
        if (chunked_type(type)) {
            chunk_dot_nx(type, w, x, 0, 1, n, &out, 0);
            return out;
        }
        // A type this level has no kernel for runs the portable code, never a silent zero.
        return vk_dot_row_portable(type, w, x, n);
    }
}

VK_AVX2 void vk_dot_row_multi_avx2(int type, const void *w, const float *x, int64_t ldx, int64_t nx,
                                   int64_t n, float *out, int64_t ldout) {
    const int64_t be = vk_type_block_elems(type);
    if (be == 0 || n <= 0 || nx <= 0 || nx > VK_MULTI_MAX) return;
    const int64_t nb = n / be;
    switch (type) {
    case VK_TYPE_Q8_0: q8_0_fns[nx - 1](w, nb, x, ldx, out, ldout); return;
    case VK_TYPE_Q2_K: q2_K_fns[nx - 1](w, nb, x, ldx, out, ldout); return;
    case VK_TYPE_Q3_K: q3_K_fns[nx - 1](w, nb, x, ldx, out, ldout); return;
    case VK_TYPE_F32: case VK_TYPE_F16: case VK_TYPE_BF16:
        float_tiles(type, 1)[nx - 1](w, 0, x, ldx, n, out, ldout);
        return;
    default:
        if (chunked_type(type)) {
            chunk_dot_nx(type, w, x, ldx, nx, n, out, ldout);
            return;
        }
        for (int64_t r = 0; r < nx; r++) out[r * ldout] = vk_dot_row_avx2(type, w, x + r * ldx, n);
        return;
    }
}

#endif
