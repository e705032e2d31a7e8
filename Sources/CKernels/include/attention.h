#ifndef VK_ATTENTION_H
#define VK_ATTENTION_H
#include <stdint.h>
/// Softmax attention of `g` query heads (q: g × hd, contiguous) that share one key/value head,
/// over `n` positions whose keys and values lie `stride` floats apart (k, v point at position 0).
/// out (g × hd) = softmax(scale · q·kᵀ) · v. `scores` holds g × n floats.
/// When `max_out`/`sum_out` (g floats each) are not NULL they receive each head's largest score
/// and its sum of exp(score − max), so attention over split position ranges can be merged with
/// `vk_attention_merge`.
void vk_attention(const float *q, int64_t g, int64_t hd, const float *k, const float *v,
                  int64_t stride, int64_t n, float scale, float *scores, float *out,
                  float *max_out, float *sum_out);
/// Combines `parts` partial results of `vk_attention` over disjoint position ranges: outs is
/// parts × g × hd, maxes and sums parts × g. Writes g × hd to out.
void vk_attention_merge(const float *outs, const float *maxes, const float *sums, int64_t parts,
                        int64_t g, int64_t hd, float *out);
/// Scalar reference of `vk_attention` (double accumulation).
void vk_attention_ref(const float *q, int64_t g, int64_t hd, const float *k, const float *v,
                      int64_t stride, int64_t n, float scale, float *out);
#endif
