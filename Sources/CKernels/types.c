#include "internal.h"

// What each type is, in one place: its GGUF block (ggml-common.h), the record it is repacked
// into at load (repack_q8.c has the layouts; 0: kept as stored), and which byte dot product the
// repacked values need (vk_type_rp_class).
typedef struct {
    int64_t block_elems, block_bytes;
    int64_t record_elems, record_bytes;
    int rp_class;
} vk_type_info;

static const vk_type_info vk_types[] = {
    [VK_TYPE_F32] = {1, 4},
    [VK_TYPE_F16] = {1, 2},
    [VK_TYPE_BF16] = {1, 2},
    // fp16 d + 16 bytes of nibbles
    [VK_TYPE_Q4_0] = {32, 18, 32, 16 + 128, 1},
    // fp16 d, fp16 m + 16 bytes of nibbles
    [VK_TYPE_Q4_1] = {32, 20, 32, 32 + 128, 1},
    // fp16 d + 4 bytes of fifth bits + 16 bytes of nibbles
    [VK_TYPE_Q5_0] = {32, 22, 32, 16 + 128 + 32, 1},
    // fp16 d, fp16 m + 4 bytes of fifth bits + 16 bytes of nibbles
    [VK_TYPE_Q5_1] = {32, 24, 32, 32 + 128 + 32, 1},
    // fp16 d + 32 int8 (unsigned in the record: up to 255)
    [VK_TYPE_Q8_0] = {32, 34, 32, 16 + 256, 2},
    // 16 scale/min bytes + 64 bytes of 2-bit quants + fp16 d, dmin
    [VK_TYPE_Q2_K] = {256, 84},
    // 32 high-bit bytes + 64 bytes of 2-bit quants + 12 scales + fp16 d
    [VK_TYPE_Q3_K] = {256, 110},
    // fp16 d, dmin + 12 scale bytes + 128 nibble bytes
    [VK_TYPE_Q4_K] = {256, 144, 256, 32 + 128 + 8 * 128, 1},
    // fp16 d, dmin + 12 scales + 32 high bits + 128 nibbles
    [VK_TYPE_Q5_K] = {256, 176, 256, 32 + 128 + 8 * 160, 1},
    // 128 low nibbles + 64 high 2-bits + 16 int8 scales + fp16 d
    [VK_TYPE_Q6_K] = {256, 210, 256, 16 + 128 + 8 * 192, 1},
    // fp32 d + 256 int8 + 16 int16 sums
    [VK_TYPE_Q8_K] = {256, 292},
    // fp16 d + 16 bytes of nibbles (codebook indices; the record's biased levels reach 241)
    [VK_TYPE_IQ4_NL] = {32, 18, 32, 16 + 128, 2},
    // fp16 d + 2 + 4 scale bytes + 128 nibble bytes
    [VK_TYPE_IQ4_XS] = {256, 136, 256, 16 + 64 + 8 * 128, 2},
    // E8M0 scale byte + 16 bytes of nibbles (FP4 E2M1 codes; biased values up to 140)
    [VK_TYPE_MXFP4] = {32, 17, 32, 8 + 128, 2},
};

static const vk_type_info *info(int type) {
    static const vk_type_info unknown;
    return type >= 0 && type < (int)(sizeof vk_types / sizeof vk_types[0]) ? &vk_types[type] : &unknown;
}

int64_t vk_type_block_elems(int type) { return info(type)->block_elems; }
int64_t vk_type_block_bytes(int type) { return info(type)->block_bytes; }
int64_t vk_rp_record_elems(int type) { return info(type)->record_elems; }
int64_t vk_rp_record_bytes(int type) { return info(type)->record_bytes; }
int vk_type_rp_class(int type) { return info(type)->rp_class; }
