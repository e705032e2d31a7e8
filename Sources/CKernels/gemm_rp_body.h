// The body of the repacked-weight int8 kernel (gemm_rp_kernels.h), written once for two vector
// widths: included with RPV(name) naming this width's functions and RPV_* as its operations.
// 256-bit: one 8-row panel per vector. 512-bit: two panels side by side (the second `pb` bytes
// after the first), 16 rows per vector, so each instruction does twice the work.

// acc[i] = the rows' integer dots of 32 nibble elements with activation bytes q[i] + x.
VK_RP_INLINE void RPV(nibbles)(const uint8_t *nib, int64_t pb, const vk_act_q8 *a, int mr, int64_t x,
                               RPV_SI *acc) {
    const RPV_SI m15 = RPV_SET1_EPI8(15);
    for (int i = 0; i < mr; i++) acc[i] = RPV_ZERO_SI();
    for (int c = 0; c < 4; c++) {
        const RPV_SI v = RPV_LOAD(nib + 32 * c);
        const RPV_SI lo = RPV_AND(v, m15), hi = RPV_AND(RPV_SRLI16(v, 4), m15);
        for (int i = 0; i < mr; i++) {
            acc[i] = VK_RP_DPBUSD_W(acc[i], lo, RPV_SET1_EPI32(rp_x4(a[i].q + x + 4 * c)));
            acc[i] = VK_RP_DPBUSD_W(acc[i], hi, RPV_SET1_EPI32(rp_x4(a[i].q + x + 16 + 4 * c)));
        }
    }
}

// acc[i] = the rows' integer dots of 32 five-bit elements (128 nibble bytes, then 32 bytes of
// fifth bits: bit c of byte 4r + j for element 4c + j, bit 4 + c for 16 + 4c + j) with q[i] + x.
VK_RP_INLINE void RPV(five)(const uint8_t *nib, int64_t pb, const vk_act_q8 *a, int mr, int64_t x,
                            RPV_SI *acc) {
    const RPV_SI m15 = RPV_SET1_EPI8(15), m16 = RPV_SET1_EPI8(16);
    const RPV_SI top = RPV_LOAD(nib + 128);
    for (int i = 0; i < mr; i++) acc[i] = RPV_ZERO_SI();
    for (int c = 0; c < 4; c++) {
        const RPV_SI v = RPV_LOAD(nib + 32 * c);
        // 16-bit shifts move bits c and 4 + c to bit 4; the mask drops what crosses bytes.
        const RPV_SI lo = RPV_OR(RPV_AND(v, m15), RPV_AND(RPV_SLLI16(top, 4 - c), m16));
        const RPV_SI hi = RPV_OR(RPV_AND(RPV_SRLI16(v, 4), m15), RPV_AND(RPV_SRLI16(top, c), m16));
        for (int i = 0; i < mr; i++) {
            acc[i] = VK_RP_DPBUSD_W(acc[i], lo, RPV_SET1_EPI32(rp_x4(a[i].q + x + 4 * c)));
            acc[i] = VK_RP_DPBUSD_W(acc[i], hi, RPV_SET1_EPI32(rp_x4(a[i].q + x + 16 + 4 * c)));
        }
    }
}

// acc[i] = the integer dots of 32 signed byte elements (made unsigned by flipping the top bit)
// with activation bytes q[i] + x.
VK_RP_INLINE void RPV(bytes)(const uint8_t *p, int64_t pb, const vk_act_q8 *a, int mr, int64_t x, RPV_SI *acc) {
    for (int i = 0; i < mr; i++) acc[i] = RPV_ZERO_SI();
    for (int c = 0; c < 8; c++) {
        const RPV_SI v = RPV_XOR(RPV_LOAD(p + 32 * c), RPV_SET1_EPI8((char)0x80));
        for (int i = 0; i < mr; i++) acc[i] = VK_RP_DPBUSD_W(acc[i], v, RPV_SET1_EPI32(rp_x4(a[i].q + x + 4 * c)));
    }
}

#if VK_RP_Q8
// acc[i] = the integer dots of 32 table elements (nibbles indexing `levels`: IQ4's or MXFP4's
// values plus 128, unsigned bytes up to 241, which only the non-saturating instruction takes)
// with q[i] + x; the caller takes 128 * S off.
VK_RP_INLINE void RPV(levels)(const uint8_t *nib, int64_t pb, const vk_act_q8 *a, int mr, int64_t x,
                              RPV_SI *acc, const uint8_t *levels) {
    const RPV_SI m15 = RPV_SET1_EPI8(15), table = RPV_BCAST16(levels);
    for (int i = 0; i < mr; i++) acc[i] = RPV_ZERO_SI();
    for (int c = 0; c < 4; c++) {
        const RPV_SI v = RPV_LOAD(nib + 32 * c);
        const RPV_SI lo = RPV_SHUFFLE8(table, RPV_AND(v, m15));
        const RPV_SI hi = RPV_SHUFFLE8(table, RPV_AND(RPV_SRLI16(v, 4), m15));
        for (int i = 0; i < mr; i++) {
            acc[i] = VK_RP_DPBUSD_W(acc[i], lo, RPV_SET1_EPI32(rp_x4(a[i].q + x + 4 * c)));
            acc[i] = VK_RP_DPBUSD_W(acc[i], hi, RPV_SET1_EPI32(rp_x4(a[i].q + x + 16 + 4 * c)));
        }
    }
}
#endif

// Bits 2c and 2c + 1 of every byte of h moved to bits 4 and 5 (others garbage, masked by the caller).
VK_RP_INLINE RPV_SI RPV(top2)(RPV_SI h, int c) {
    return c == 0 ? RPV_SLLI16(h, 4) : c == 1 ? RPV_SLLI16(h, 2) : c == 2 ? h : RPV_SRLI16(h, 2);
}

// Q6_K's two 16-element sub-blocks of 32 elements (nibbles, then two 32-byte vectors of top
// bits): acc[i] and acc2[i] = their integer dots (values 0..63) with activation bytes q[i] + x.
VK_RP_INLINE void RPV(six)(const uint8_t *w, int64_t pb, const vk_act_q8 *a, int mr, int64_t x, RPV_SI *acc,
                           RPV_SI *acc2) {
    const RPV_SI m15 = RPV_SET1_EPI8(15), m48 = RPV_SET1_EPI8(48);
    const RPV_SI h0 = RPV_LOAD(w + 128), h1 = RPV_LOAD(w + 160);
    for (int i = 0; i < mr; i++) acc[i] = acc2[i] = RPV_ZERO_SI();
    for (int c = 0; c < 4; c++) {
        const RPV_SI v = RPV_LOAD(w + 32 * c);
        const RPV_SI lo = RPV_OR(RPV_AND(v, m15), RPV_AND(RPV(top2)(h0, c), m48));
        const RPV_SI hi = RPV_OR(RPV_AND(RPV_SRLI16(v, 4), m15), RPV_AND(RPV(top2)(h1, c), m48));
        for (int i = 0; i < mr; i++) {
            acc[i] = VK_RP_DPBUSD_W(acc[i], lo, RPV_SET1_EPI32(rp_x4(a[i].q + x + 4 * c)));
            acc2[i] = VK_RP_DPBUSD_W(acc2[i], hi, RPV_SET1_EPI32(rp_x4(a[i].q + x + 16 + 4 * c)));
        }
    }
}

// f[i] += ds * dx * isum + c * xs for the 32 elements of activation block `blk` (dx its scale, xs
// its dequantized sum). Two terms are joined first: the second's scale is the first's / 256, so
// isum_0 * 256 + isum_1 (exact in int32) takes one conversion and one scaling for both.
VK_RP_INLINE void RPV(scale)(RPV_PS *f, const RPV_SI *acc, const vk_act_q8 *a, int mr, int terms, RPV_PS ds,
                             RPV_PS c, int64_t blk) {
    if (terms == 2) {
        const RPV_PS ds8 = RPV_MUL(ds, RPV_SET1_PS(1.0f / (float)(1 << VK_TERM_SHIFT)));
        for (int i = 0; i < mr; i += 2) {
            const RPV_SI v = RPV_ADD32(RPV_SLLI32(acc[i], VK_TERM_SHIFT), acc[i + 1]);
            f[i] = RPV_FMA(ds8, RPV_MUL(RPV_CVT(v), RPV_SET1_PS(a[i].d[blk])), f[i]);
            f[i] = RPV_FMA(c, RPV_SET1_PS(a[i].xs[blk] + a[i + 1].xs[blk]), f[i]);
        }
        return;
    }
    for (int i = 0; i < mr; i++) {
        f[i] = RPV_FMA(ds, RPV_MUL(RPV_CVT(acc[i]), RPV_SET1_PS(a[i].d[blk])), f[i]);
        f[i] = RPV_FMA(c, RPV_SET1_PS(a[i].xs[blk]), f[i]);
    }
}

// y[(i / terms) * ldy + j] for j < nc = the panel rows' dots with quantized rows i .. i + terms - 1
// (i a multiple of terms, which divides mr), summed smallest term first.
VK_RP_INLINE void RPV(kernel)(int type, const vk_act_q8 *a, int mr, int terms, const uint8_t *p, int64_t pb,
                              int64_t k, float *y, int64_t ldy, int64_t nc) {
    RPV_PS f[VK_RP_MR];
    RPV_SI acc[VK_RP_MR];
    for (int i = 0; i < mr; i++) f[i] = RPV_ZERO_PS();
    switch (type) {
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: case VK_TYPE_Q5_0: case VK_TYPE_Q5_1: {
        // Q4_0 / Q5_0: offset -8 / -16 times d; Q4_1 / Q5_1: the stored m.
        const int sym = type == VK_TYPE_Q4_0 || type == VK_TYPE_Q5_0, five = type == VK_TYPE_Q5_0 || type == VK_TYPE_Q5_1;
        for (int64_t t = 0; t < k / 32; t++) {
            const RPV_PS d = RPV_F16(p);
            const RPV_PS c = sym ? RPV_MUL(d, RPV_SET1_PS(five ? -16.0f : -8.0f)) : RPV_F16(p + 16);
            p += sym ? 16 : 32;
            if (five) RPV(five)(p, pb, a, mr, 32 * t, acc);
            else RPV(nibbles)(p, pb, a, mr, 32 * t, acc);
            RPV(scale)(f, acc, a, mr, terms, d, c, t);
            p += five ? 160 : 128;
        }
        break;
    }
#if VK_RP_Q8
    case VK_TYPE_Q8_0:
        for (int64_t t = 0; t < k / 32; t++) {
            const RPV_PS d = RPV_F16(p);
            RPV(bytes)(p + 16, pb, a, mr, 32 * t, acc);
            RPV(scale)(f, acc, a, mr, terms, d, RPV_MUL(d, RPV_SET1_PS(-128.0f)), t);
            p += 16 + 256;
        }
        break;
    case VK_TYPE_IQ4_NL:
        for (int64_t t = 0; t < k / 32; t++) {
            const RPV_PS d = RPV_F16(p);
            RPV(levels)(p + 16, pb, a, mr, 32 * t, acc, vk_iq4nl_biased);
            RPV(scale)(f, acc, a, mr, terms, d, RPV_MUL(d, RPV_SET1_PS(-128.0f)), t);
            p += 16 + 128;
        }
        break;
    case VK_TYPE_MXFP4:
        // The bias comes off in int32 (exact): in fp32 it would cancel 128 against values of at
        // most 12 and lose four bits. The scale is a power of two, so ds * dx rounds nothing.
        for (int64_t t = 0; t < k / 32; t++) {
            const RPV_PS d = RPV_E8M0(p);
            RPV(levels)(p + 8, pb, a, mr, 32 * t, acc, vk_mxfp4_biased);
            for (int i = 0; i < mr; i++) {
                const RPV_SI v = RPV_SUB32(acc[i], RPV_SET1_EPI32(128 * (a[i].s[2 * t] + a[i].s[2 * t + 1])));
                f[i] = RPV_FMA(RPV_MUL(d, RPV_SET1_PS(a[i].d[t])), RPV_CVT(v), f[i]);
            }
            p += 8 + 128;
        }
        break;
    case VK_TYPE_IQ4_XS:
        for (int64_t t = 0; t < k / 256; t++) {
            const RPV_PS d = RPV_F16(p);
            for (int s = 0; s < 8; s++) {
                const RPV_PS ds = RPV_MUL(d, RPV_CVT(RPV_I8I(p + 16 + 8 * s)));
                RPV(levels)(p + 80 + 128 * s, pb, a, mr, 256 * t + 32 * s, acc, vk_iq4nl_biased);
                RPV(scale)(f, acc, a, mr, terms, ds, RPV_MUL(ds, RPV_SET1_PS(-128.0f)), 8 * t + s);
            }
            p += 80 + 8 * 128;
        }
        break;
#endif
    case VK_TYPE_Q4_K: case VK_TYPE_Q5_K: {
        const int64_t sub = type == VK_TYPE_Q5_K ? 160 : 128;  // bytes per sub-block
        for (int64_t t = 0; t < k / 256; t++) {
            const RPV_PS d = RPV_F16(p), dmin = RPV_F16(p + 16);
            for (int s = 0; s < 8; s++) {
                const RPV_PS ds = RPV_MUL(d, RPV_U8(p + 32 + 8 * s));
                const RPV_PS c = RPV_MUL(dmin, RPV_SUB(RPV_ZERO_PS(), RPV_U8(p + 96 + 8 * s)));
                if (type == VK_TYPE_Q5_K) RPV(five)(p + 160 + sub * s, pb, a, mr, 256 * t + 32 * s, acc);
                else RPV(nibbles)(p + 160 + sub * s, pb, a, mr, 256 * t + 32 * s, acc);
                RPV(scale)(f, acc, a, mr, terms, ds, c, 8 * t + s);
            }
            p += 160 + 8 * sub;
        }
        break;
    }
    default:  // Q6_K (VK_RP_GEMM sends no other type here)
        // The int8 sub-block scales stay in the integer sums: per 32-element activation block b,
        // sum over its two sub-blocks g of sc_g * (isum_g - 32 S_g), exact in int32 (< 2^26),
        // then one fp32 scale d * dx.
        for (int64_t t = 0; t < k / 256; t++) {
            const RPV_PS d = RPV_F16(p);
            for (int h = 0; h < 8; h++) {
                RPV_SI acc2[VK_RP_MR];
                const int64_t b = 8 * t + h;
                RPV(six)(p + 144 + 192 * h, pb, a, mr, 32 * b, acc, acc2);
                const RPV_SI sc0 = RPV_I8I(p + 16 + 16 * h), sc1 = RPV_I8I(p + 16 + 16 * h + 8);
                for (int i = 0; i < mr; i++) {
                    const RPV_SI v = RPV_ADD32(RPV_MULLO(sc0, RPV_SUB32(acc[i], RPV_SET1_EPI32(32 * a[i].s[2 * b]))),
                                               RPV_MULLO(sc1, RPV_SUB32(acc2[i], RPV_SET1_EPI32(32 * a[i].s[2 * b + 1]))));
                    f[i] = RPV_FMA(RPV_MUL(d, RPV_SET1_PS(a[i].d[b])), RPV_CVT(v), f[i]);
                }
            }
            p += 144 + 8 * 192;
        }
        break;
    }
    for (int i = 0; i < mr; i += terms) {
        RPV_PS v = f[i + terms - 1];
        for (int j = terms - 2; j >= 0; j--) v = RPV_ADD(v, f[i + j]);
        float *yi = y + i / terms * ldy;
        if (nc == RPV_LANES) {
            RPV_STOREU(yi, v);
        } else {
            float t[RPV_LANES];
            RPV_STOREU(t, v);
            for (int64_t j = 0; j < nc; j++) yi[j] = t[j];
        }
    }
}
