#ifndef VK_ATTENTION_H
#define VK_ATTENTION_H
#include <stdint.h>
/// Paged softmax attention of `g` query heads (q: g × hd, contiguous) that share one KV head.
///
/// Keys and values live in fixed-size blocks: position p is at
/// `k + block_table[p / block_size] * block_stride + (p % block_size) * hd` elements (same for
/// v), i.e. `k`/`v` point at this KV head's rows of block 0 and `block_stride` elements separate
/// blocks. Elements are `kv_type`: VK_TYPE_F32 or VK_TYPE_F16 (IEEE binary16).
/// Attends positions [start, start + n) (n >= 1): out (g × hd) = softmax(s) · v with scores
/// s = scale · q·kᵀ, soft-capped to softcap · tanh(s / softcap) when softcap > 0 (Gemma 2).
/// `sinks` (g floats, or NULL): each head's learned sink logit (gpt-oss), one more softmax term
/// that carries no value (pass it here or to `vk_attention_merge`, never both).
/// `scores` holds g × n floats. When `max_out`/`sum_out` (g floats each) are not NULL they
/// receive each head's largest score and its sum of exp(score − max), so attention over split
/// position ranges can be merged with `vk_attention_merge`.
void vk_paged_attention(const float *q, int64_t g, int64_t hd, const void *k, const void *v,
                        int kv_type, const int32_t *block_table, int64_t block_size, int64_t block_stride,
                        int64_t start, int64_t n, float scale, float softcap, const float *sinks, float *scores,
                        float *out, float *max_out, float *sum_out);
/// `vk_paged_attention` over K/V stored contiguously: position j (of the n attended) at
/// `k + j * stride` elements (same for v). The same kernels as the paged path, with rows found
/// by pointer increments instead of a block table: the baseline `vllm bench attention` measures
/// the paged cache against. `prefetch` > 0 adds software prefetches that many rows ahead, as
/// the paged path does one block ahead (the hardware prefetcher alone does better while the
/// rows come from L2, worse from L3 or memory); 0 leaves it to the hardware.
void vk_contiguous_attention(const float *q, int64_t g, int64_t hd, const void *k, const void *v,
                             int kv_type, int64_t stride, int64_t n, int64_t prefetch, float scale,
                             float softcap, const float *sinks, float *scores, float *out, float *max_out,
                             float *sum_out);
/// Combines `parts` partial results over disjoint position ranges: outs is parts × g × hd,
/// maxes and sums parts × g; `sinks` as for `vk_paged_attention` (counted once, here). Writes
/// g × hd to out.
void vk_attention_merge(const float *outs, const float *maxes, const float *sums, int64_t parts,
                        int64_t g, int64_t hd, const float *sinks, float *out);
/// Scalar reference over contiguous K/V (`stride` floats between positions), double accumulation.
void vk_attention_ref(const float *q, int64_t g, int64_t hd, const float *k, const float *v,
                      int64_t stride, int64_t n, float scale, float softcap, const float *sinks, float *out);
#endif
