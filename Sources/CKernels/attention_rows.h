// Where attention finds each position's K and V rows, for the paged cache and for a contiguous
// array alike, so that one kernel body serves both (see attention.c and attention_avx2.c).
#ifndef CKERNELS_ATTENTION_ROWS_H
#define CKERNELS_ATTENTION_ROWS_H

#include <stdint.h>

// The positions [start, start + n) attention reads. Offsets are in elements from `k` and `v`
// (the same for both). Paged (`table` not NULL): position p's rows are at
// table[p / block_size] * block_stride + (p % block_size) * stride, with stride == head size.
// Contiguous: the j-th position attended is at j * stride (`start` and the block fields are
// unused), and `prefetch` > 0 asks for software prefetches that many rows ahead.
typedef struct {
    const void *k, *v;
    const int32_t *table;
    int64_t block_size, block_stride, stride, start, prefetch;
} vk_kv_rows;

// Walks the positions in order. A contiguous layout is one block that never ends, so its walk
// is a pointer increment; a paged one follows the table a block at a time, with no per-position
// offset array (which would cost a pass to fill and n * 8 bytes of L1 to read back).
typedef struct {
    int64_t off;    // offset of the next position's rows
    int64_t left;   // positions left in the current block
    int64_t delta;  // offset from the current block to the next one (0 in the last block)
    const int32_t *next, *end;  // table entries of the following blocks
    int64_t stride, block_size, block_stride;
} vk_kv_cursor;

// Sets `delta` for a walk now in the block whose first row is at `base`.
static inline void vk_kv_set_delta(vk_kv_cursor *c, int64_t base) {
    c->delta = (c->next < c->end ? (int64_t)*c->next * c->block_stride : base) - base;
}

static inline vk_kv_cursor vk_kv_begin(const vk_kv_rows *kv, int64_t n) {
    vk_kv_cursor c = {.stride = kv->stride, .left = INT64_MAX};
    if (!kv->table) return c;
    const int64_t b = kv->start / kv->block_size, slot = kv->start % kv->block_size;
    const int64_t base = (int64_t)kv->table[b] * kv->block_stride;
    c.block_size = kv->block_size;
    c.block_stride = kv->block_stride;
    c.next = kv->table + b + 1;
    c.end = kv->table + (kv->start + n - 1) / kv->block_size + 1;
    c.off = base + slot * kv->stride;
    c.left = kv->block_size - slot;
    vk_kv_set_delta(&c, base);
    return c;
}

// Moves a paged walk that has used up its block to the next one.
static inline void vk_kv_next_block(vk_kv_cursor *c) {
    c->off = (int64_t)*c->next++ * c->block_stride;
    c->left = c->block_size;
    vk_kv_set_delta(c, c->off);
}

// The next position's offset. `paged` is a compile-time constant at every call, so the
// contiguous walk compiles to an add.
static inline __attribute__((always_inline)) int64_t vk_kv_next(vk_kv_cursor *c, const int paged) {
    if (paged) {
        if (c->left == 0) vk_kv_next_block(c);
        c->left--;
    }
    const int64_t o = c->off;
    c->off += c->stride;
    return o;
}

// Takes the next run of consecutive rows, at most `max` positions (stride apart): returns the
// first one's offset and sets *count. A contiguous walk is one run; a paged run ends with its
// block, so the loops over a run are the contiguous loops, and the block table costs one step
// per block rather than per position.
static inline __attribute__((always_inline)) int64_t vk_kv_run(vk_kv_cursor *c, int64_t max, int64_t *count,
                                                              const int paged) {
    int64_t len = max;
    if (paged) {
        if (c->left == 0) vk_kv_next_block(c);
        if (c->left < len) len = c->left;
        c->left -= len;
    }
    const int64_t o = c->off;
    c->off += len * c->stride;
    *count = len;
    return o;
}

#endif
