#include "ckernels.h"
// Block geometry from ggml-common.h.
int64_t vk_type_block_elems(int type) {
    switch (type) {
    case VK_TYPE_F32: case VK_TYPE_F16: case VK_TYPE_BF16: return 1;
    case VK_TYPE_Q4_0: case VK_TYPE_Q4_1: case VK_TYPE_Q5_0: case VK_TYPE_Q5_1: case VK_TYPE_Q8_0:
    case VK_TYPE_IQ4_NL: case VK_TYPE_MXFP4:
        return 32;
    case VK_TYPE_Q2_K: case VK_TYPE_Q3_K: case VK_TYPE_Q4_K: case VK_TYPE_Q5_K: case VK_TYPE_Q6_K:
    case VK_TYPE_Q8_K: case VK_TYPE_IQ4_XS:
        return 256;
    default: return 0;
    }
}
int64_t vk_type_block_bytes(int type) {
    switch (type) {
    case VK_TYPE_F32: return 4;
    case VK_TYPE_F16: case VK_TYPE_BF16: return 2;
    case VK_TYPE_Q4_0: return 18;   // fp16 d + 16 bytes of nibbles
    case VK_TYPE_Q4_1: return 20;   // fp16 d, fp16 m + 16 bytes of nibbles
    case VK_TYPE_Q5_0: return 22;   // fp16 d + 4 bytes of fifth bits + 16 bytes of nibbles
    case VK_TYPE_Q5_1: return 24;   // fp16 d, fp16 m + 4 bytes of fifth bits + 16 bytes of nibbles
    case VK_TYPE_Q8_0: return 34;   // fp16 d + 32 int8
    case VK_TYPE_Q2_K: return 84;   // 16 scale/min bytes + 64 bytes of 2-bit quants + fp16 d, dmin
    case VK_TYPE_Q3_K: return 110;  // 32 high-bit bytes + 64 bytes of 2-bit quants + 12 scales + fp16 d
    case VK_TYPE_Q4_K: return 144;  // fp16 d, dmin + 12 scale bytes + 128 nibble bytes
    case VK_TYPE_Q5_K: return 176;  // fp16 d, dmin + 12 scales + 32 high bits + 128 nibbles
    case VK_TYPE_Q6_K: return 210;  // 128 low nibbles + 64 high 2-bits + 16 int8 scales + fp16 d
    case VK_TYPE_Q8_K: return 292;  // fp32 d + 256 int8 + 16 int16 sums
    case VK_TYPE_IQ4_NL: return 18; // fp16 d + 16 bytes of nibbles (codebook indices)
    case VK_TYPE_MXFP4: return 17;  // E8M0 scale byte + 16 bytes of nibbles (FP4 E2M1 codes)
    case VK_TYPE_IQ4_XS: return 136; // fp16 d + 2 + 4 scale bytes + 128 nibble bytes
    default: return 0;
    }
}
