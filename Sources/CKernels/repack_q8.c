// Weights repacked once at load (vk_repack), read by vk_matmul_repacked: 8 rows at a time are
// interleaved so that one 32-byte load holds 4 consecutive elements of each of the 8 rows,
// which a byte dot-product instruction multiplies with 4 activation bytes broadcast to every lane
// (one instruction advances 8 rows by 4 elements, no horizontal sums, no per-use repacking); the
// fp32 GEMM dequantizes its panels from here too (repack_avx2.c, repack_portable.c).
// 4-bit types stay 4-bit; scales stay in their stored precision, so the repacked panel stands
// for exactly the values the GGUF blocks define.
//
// Panel layout (8 rows, rows past the matrix are zero), a sequence of records:
//   Q4_0 (per 32 elements): d[8] fp16, then 128 bytes of nibbles;
//   Q4_1 (per 32):          d[8] fp16, m[8] fp16, 128 bytes of nibbles;
//   Q8_0 (per 32):          d[8] fp16, 256 bytes q (signed);
//   Q4_K (per 256):         d[8] fp16, dmin[8] fp16, sc[8][8] u8, mn[8][8] u8 (sub-block, row),
//                           then per 32-element sub-block 128 bytes of nibbles;
//   Q5_0 (per 32):          d[8] fp16, 128 bytes of nibbles, 32 bytes of fifth bits;
//   Q5_1 (per 32):          d[8] fp16, m[8] fp16, 128 bytes of nibbles, 32 bytes of fifth bits;
//   Q5_K (per 256):         as Q4_K, with each sub-block's 128 bytes of nibbles followed by its 32
//                           bytes of fifth bits;
//   IQ4_NL (per 32):        d[8] fp16, 128 bytes of nibbles (level indices);
//   MXFP4 (per 32):         e[8] u8 (E8M0 exponents), 128 bytes of nibbles (indices of the E2M1
//                           values);
//   IQ4_XS (per 256):       d[8] fp16, ls[8][8] i8 (the 6-bit scale minus 32; sub-block, row),
//                           then per 32-element sub-block 128 bytes of nibbles;
//   Q6_K (per 256):         d[8] fp16, sc[16][8] i8 (sub-block, row), then per 32 elements
//                           (16-element sub-blocks 2h and 2h + 1) 192 bytes: 128 of nibbles (the
//                           low 4 bits of u = q + 32, 0..63), then two 32-byte vectors of top bits,
//                           one per sub-block: its element 4c + j of row r in bits 2c, 2c + 1 of
//                           byte 4r + j. 6.5625 bits per weight, as stored.
// "Nibbles" for 32 elements e of row r: byte 32c + 4r + j (c < 4, j < 4) holds e = 4c + j in its
// low nibble and e = 16 + 4c + j in its high one (for Q4_0/Q4_1 that byte is the block's qs[4c+j]).
// "Fifth bits" for the same 32 elements: byte 4r + j holds in bit c the fifth bit (worth 16) of
// e = 4c + j and in bit 4 + c that of e = 16 + 4c + j.
// Byte rows (Q8_0): element e of row r at byte 32 (e / 4) + 4r + e % 4.
// Values: Q4_0 d(u - 8), Q4_1 d u + m, Q8_0 d q, Q4_K d sc u - dmin mn, Q6_K d sc (u - 32),
// Q5_0 d(u - 16), Q5_1 d u + m, Q5_K d sc u - dmin mn (u with its fifth bit), IQ4_NL d L[u],
// IQ4_XS (d ls) L[u] (L: ggml's kvalues_iq4nl), MXFP4 2^(e - 128) V[u] (V: E2M1 values doubled).
// MXFP4 keeps its 8-bit exponents, so the record is as small as the blocks (4.25 bits a weight)
// and its vectors start 8 bytes in (the kernels load unaligned).
// Each layout is ggml's block (ggml-common.h) with the same bits, moved; nothing is requantized.
#include <string.h>

#include "internal.h"
#include "blocks.h"
#include "fp16.h"

int64_t vk_repack_panel_bytes(int type, int64_t k) {
    const int64_t e = vk_rp_record_elems(type);
    return e == 0 || k <= 0 || k % e != 0 ? 0 : k / e * vk_rp_record_bytes(type);
}

int64_t vk_repack_bytes(int type, int64_t rows, int64_t k) {
    return (rows + 7) / 8 * vk_repack_panel_bytes(type, k);
}

int vk_repack_preferred(int type) {
    const vk_kernels *best = vk_best_kernels();
    const int c = vk_type_rp_class(type);
    return best->level > 0 && c > 0 && c <= best->rp_class;
}

// Row r's bytes src[0 .. 4 * steps) as `steps` 4-byte steps of the interleaved layout at out.
static void rp_interleave(uint8_t *out, int r, const uint8_t *src, int steps) {
    for (int c = 0; c < steps; c++) memcpy(out + 32 * c + 4 * r, src + 4 * c, 4);
}

// Row r's fifth bits bits[0 .. 32) (0 or 1 each) into the fifth-bit vector at top.
static void rp_fifth_bits(uint8_t *top, int r, const uint8_t *bits) {
    for (int j = 0; j < 4; j++) {
        unsigned v = 0;
        for (int c = 0; c < 4; c++) v |= (unsigned)bits[4 * c + j] << c | (unsigned)bits[16 + 4 * c + j] << (4 + c);
        top[4 * r + j] = (uint8_t)v;
    }
}

// Q4_K / Q5_K: the 8 scales and mins of row r's block, and sub-block s's nibbles at nib.
static void rp_k4_scales(uint8_t *out, int r, const uint8_t *scales) {
    uint8_t sm[16];
    vk_k4_scales_mins(scales, sm);
    for (int s = 0; s < 8; s++) {
        out[32 + 8 * s + r] = sm[s];
        out[96 + 8 * s + r] = sm[8 + s];
    }
}
static void rp_k4_nibbles(uint8_t *nib, int r, const uint8_t *qs, int s) {
    const uint8_t *q = qs + 32 * (s / 2);
    const int shift = 4 * (s % 2);
    for (int e = 0; e < 16; e++) {
        const uint8_t lo = (q[e] >> shift) & 15, hi = (q[e + 16] >> shift) & 15;
        nib[32 * (e / 4) + 4 * r + e % 4] = (uint8_t)(lo | hi << 4);
    }
}

// Q5_0 / Q5_1: element e's fifth bit is bit e of the little-endian word qh.
static void rp_q5_bits(uint8_t *top, int r, const uint8_t qh[4]) {
    uint8_t bits[32];
    for (int e = 0; e < 32; e++) bits[e] = (qh[e / 8] >> (e % 8)) & 1;
    rp_fifth_bits(top, r, bits);
}

// One record (elements [t * E, (t + 1) * E)) of the 8 rows at w (rows present, rowbytes apart).
static void rp_record(int type, const char *w, int64_t rowbytes, int rows, int64_t t, uint8_t *out) {
    memset(out, 0, (size_t)vk_rp_record_bytes(type));
    uint16_t *h = (uint16_t *)out;
    for (int r = 0; r < rows; r++) {
        const char *row = w + r * rowbytes;
        switch (type) {
        case VK_TYPE_Q4_0: {
            const vk_block_q4_0 *b = (const vk_block_q4_0 *)row + t;
            h[r] = b->d;
            rp_interleave(out + 16, r, b->qs, 4);
            break;
        }
        case VK_TYPE_Q4_1: {
            const vk_block_q4_1 *b = (const vk_block_q4_1 *)row + t;
            h[r] = b->d;
            h[8 + r] = b->m;
            rp_interleave(out + 32, r, b->qs, 4);
            break;
        }
        case VK_TYPE_Q8_0: {
            const vk_block_q8_0 *b = (const vk_block_q8_0 *)row + t;
            h[r] = b->d;
            rp_interleave(out + 16, r, (const uint8_t *)b->qs, 8);
            break;
        }
        case VK_TYPE_Q5_0: {
            const vk_block_q5_0 *b = (const vk_block_q5_0 *)row + t;
            h[r] = b->d;
            rp_interleave(out + 16, r, b->qs, 4);
            rp_q5_bits(out + 16 + 128, r, b->qh);
            break;
        }
        case VK_TYPE_Q5_1: {
            const vk_block_q5_1 *b = (const vk_block_q5_1 *)row + t;
            h[r] = b->d;
            h[8 + r] = b->m;
            rp_interleave(out + 32, r, b->qs, 4);
            rp_q5_bits(out + 32 + 128, r, b->qh);
            break;
        }
        case VK_TYPE_Q4_K: {
            const vk_block_q4_K *b = (const vk_block_q4_K *)row + t;
            h[r] = b->d;
            h[8 + r] = b->dmin;
            rp_k4_scales(out, r, b->scales);
            for (int s = 0; s < 8; s++) rp_k4_nibbles(out + 160 + 128 * s, r, b->qs, s);
            break;
        }
        case VK_TYPE_Q5_K: {
            // Sub-block s (elements 32s ..) takes its fifth bits from bit s of qh[0 .. 32) (blocks.h).
            const vk_block_q5_K *b = (const vk_block_q5_K *)row + t;
            h[r] = b->d;
            h[8 + r] = b->dmin;
            rp_k4_scales(out, r, b->scales);
            for (int s = 0; s < 8; s++) {
                uint8_t bits[32];
                for (int e = 0; e < 32; e++) bits[e] = (b->qh[e] >> s) & 1;
                rp_k4_nibbles(out + 160 + 160 * s, r, b->qs, s);
                rp_fifth_bits(out + 160 + 160 * s + 128, r, bits);
            }
            break;
        }
        case VK_TYPE_IQ4_NL: {
            const vk_block_iq4_nl *b = (const vk_block_iq4_nl *)row + t;
            h[r] = b->d;
            rp_interleave(out + 16, r, b->qs, 4);
            break;
        }
        case VK_TYPE_MXFP4: {
            const vk_block_mxfp4 *b = (const vk_block_mxfp4 *)row + t;
            out[r] = b->e;
            rp_interleave(out + 8, r, b->qs, 4);
            break;
        }
        case VK_TYPE_IQ4_XS: {
            const vk_block_iq4_xs *b = (const vk_block_iq4_xs *)row + t;
            uint8_t ls[8];
            vk_iq4xs_scales(b, ls);
            h[r] = b->d;
            for (int s = 0; s < 8; s++) {
                out[16 + 8 * s + r] = (uint8_t)(int8_t)(ls[s] - 32);
                rp_interleave(out + 80 + 128 * s, r, b->qs + 16 * s, 4);
            }
            break;
        }
        default: {  // Q6_K
            const vk_block_q6_K *b = (const vk_block_q6_K *)row + t;
            h[r] = b->d;
            for (int g = 0; g < 16; g++) out[16 + 8 * g + r] = (uint8_t)b->scales[g];
            // The 6-bit values (0..63) by the element map in blocks.h: four per (h, l).
            uint8_t u[256];
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    const uint8_t ql0 = b->ql[64 * h + l], ql1 = b->ql[64 * h + l + 32], qh = b->qh[32 * h + l];
                    const int e = 128 * h + l;
                    u[e] = (uint8_t)((ql0 & 15) | (qh & 3) << 4);
                    u[e + 32] = (uint8_t)((ql1 & 15) | ((qh >> 2) & 3) << 4);
                    u[e + 64] = (uint8_t)((ql0 >> 4) | ((qh >> 4) & 3) << 4);
                    u[e + 96] = (uint8_t)((ql1 >> 4) | ((qh >> 6) & 3) << 4);
                }
            }
            for (int e = 0; e < 256; e++) {
                uint8_t *w = out + 144 + 192 * (e / 32);
                const int half = (e % 32) / 16, c = (e % 16) / 4, j = e % 4;
                w[32 * c + 4 * r + j] |= (uint8_t)((u[e] & 15) << 4 * half);
                w[128 + 32 * half + 4 * r + j] |= (uint8_t)((u[e] >> 4) << 2 * c);
            }
            break;
        }
        }
    }
}

void vk_repack(int type, const void *w, int64_t rows, int64_t k, int64_t p0, int64_t p1, void *out) {
    const int64_t pb = vk_repack_panel_bytes(type, k);
    if (pb == 0) return;
    const int64_t e = vk_rp_record_elems(type), rowbytes = k / vk_type_block_elems(type) * vk_type_block_bytes(type);
    for (int64_t p = p0; p < p1; p++) {
        const int n = rows - 8 * p < 8 ? (int)(rows - 8 * p) : 8;
        uint8_t *dst = (uint8_t *)out + p * pb;
        for (int64_t t = 0; t < k / e; t++)
            rp_record(type, (const char *)w + 8 * p * rowbytes, rowbytes, n, t, dst + t * vk_rp_record_bytes(type));
    }
}

// Activation rows per pass over the panels: their int8 rows (~192 KB, at most VK_RP_MAX_QROWS) stay
// in L2 while every panel of the chunk streams past them.
static int64_t rp_rows_per_pass(int64_t k, int terms) {
    int64_t rows = 192 * 1024 / (terms * vk_act_q8_bytes(k));
    if (rows > VK_RP_MAX_QROWS / terms) rows = VK_RP_MAX_QROWS / terms;
    return rows < 8 ? 8 : rows / 8 * 8;
}

// Batches from this many quantized rows on take two panels per kernel call where the level can
// (AVX-512): twice the work per instruction. Shorter ones stream weights from memory, and one
// panel at a time streams faster (kernel benchmark on Zen 5, 62 MB of Q4_K: m = 1 54 vs 25
// Gelem/s, m = 8 even, m = 16 88 vs 138).
#define VK_RP_WIDE_MIN_M 12

void vk_matmul_repacked(int type, const void *rp, int64_t k, int64_t r0, int64_t r1, const void *q,
                        int64_t m, int terms, float *y, int64_t ldy, float *scratch) {
    const int64_t pb = vk_repack_panel_bytes(type, k);
    if (pb == 0 || r1 <= r0 || m <= 0 || terms < 0 || terms > 2) return;
    const vk_kernels *kt = vk_kernels_now();
    if (terms == 0) {
        vk_matmul_gemm(kt, type, NULL, 0, (const char *)rp, pb, k, r0, r1, (const float *)q, m, y, ldy, scratch);
        return;
    }
    const char *panels = (const char *)rp + r0 / 8 * pb;
    const int simd = vk_type_rp_class(type) <= kt->rp_class;
    const int wide = simd && terms * m >= VK_RP_WIDE_MIN_M ? kt->rp_panels : 1;
    const int64_t qbytes = vk_act_q8_bytes(k), mb = rp_rows_per_pass(k, terms);
    for (int64_t i0 = 0; i0 < m; i0 += mb) {
        const int64_t rows = m - i0 < mb ? m - i0 : mb;
        (simd ? kt->gemm_rp : vk_gemm_rp_portable)(type, (const char *)q + terms * i0 * qbytes, rows, terms, panels,
                                                   pb, wide, r1 - r0, k, y + i0 * ldy, ldy);
    }
}
