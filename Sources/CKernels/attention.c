// Attention over a run of cached positions for one KV head and the query heads that share it
// (grouped-query attention), reading K and V (float32 or fp16) through a block table (the
// engine's paged cache) or from one contiguous array (the baseline `vllm bench attention`
// compares the paged kernel against). Both layouts run the same kernel bodies.
#include <math.h>
#include "fp16.h"
#include "internal.h"

void vk_attention_ref(const float *q, int64_t g, int64_t hd, const float *k, const float *v,
                      int64_t stride, int64_t n, float scale, float softcap, const float *sinks, float *out) {
    for (int64_t h = 0; h < g; h++) {
        // A sink (gpt-oss) is one more softmax term, with no value.
        double s[n], mx = sinks ? sinks[h] : -INFINITY, sum;
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t d = 0; d < hd; d++) acc += (double)q[h * hd + d] * k[j * stride + d];
            s[j] = acc * scale;
            if (softcap > 0) s[j] = softcap * tanh(s[j] / softcap);
            if (s[j] > mx) mx = s[j];
        }
        sum = sinks ? exp(sinks[h] - mx) : 0;
        for (int64_t j = 0; j < n; j++) sum += exp(s[j] - mx);
        for (int64_t d = 0; d < hd; d++) {
            double acc = 0;
            for (int64_t j = 0; j < n; j++) acc += exp(s[j] - mx) / sum * v[j * stride + d];
            out[h * hd + d] = (float)acc;
        }
    }
}

// scores[j] <- exp(scores[j] - max); returns the sum.
static float exp_shift_portable(float *s, int64_t n, float mx) {
    float sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (s[j] = expf(s[j] - mx));
    return sum;
}

// The K or V row at element offset `row` as floats: in place for float32, converted into `tmp`
// for fp16.
static const float *kv_row(const void *base, int64_t row, int kv_type, int64_t hd, float *tmp) {
    if (kv_type != VK_TYPE_F16) return (const float *)base + row;
    const uint16_t *h = (const uint16_t *)base + row;
    for (int64_t d = 0; d < hd; d++) tmp[d] = vk_fp16_to_fp32(h[d]);
    return tmp;
}

static void attention_portable(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int kv_type,
                               int64_t n, float scale, float softcap, float *scores, float *out, float *mx,
                               float *sum) {
    const void *k = kv->k, *v = kv->v;
    float tmp[hd];
    for (int64_t h = 0; h < g; h++) {
        float *s = scores + h * n, m = -INFINITY;
        vk_kv_cursor c = vk_kv_begin(kv, n);
        for (int64_t j = 0; j < n; j++) {
            const int64_t r = vk_kv_next(&c, kv->table != NULL);
            s[j] = VK_K.dot_f32(q + h * hd, kv_row(k, r, kv_type, hd, tmp), hd) * scale;
        }
        if (softcap > 0) VK_K.softcap(s, n, softcap);
        for (int64_t j = 0; j < n; j++) m = s[j] > m ? s[j] : m;
        const float l = exp_shift_portable(s, n, m);
        float *o = out + h * hd;
        for (int64_t d = 0; d < hd; d++) o[d] = 0;
        c = vk_kv_begin(kv, n);
        for (int64_t j = 0; j < n; j++)
            VK_K.axpy_f32(s[j] / l, kv_row(v, vk_kv_next(&c, kv->table != NULL), kv_type, hd, tmp), o, hd);
        mx[h] = m;
        sum[h] = l;
    }
}

// Head h's learned sink logit (gpt-oss) as one more softmax term that carries no value: the
// output shrinks by l / (l + e^(sink - m)), and (m, l) then describe the enlarged denominator.
static void add_sinks(float *out, int64_t g, int64_t hd, const float *sinks, float *mx, float *sum) {
    for (int64_t h = 0; h < g; h++) {
        const float m = fmaxf(mx[h], sinks[h]);
        const float l = sum[h] * expf(mx[h] - m), e = expf(sinks[h] - m), f = l / (l + e);
        for (int64_t d = 0; d < hd; d++) out[h * hd + d] *= f;
        mx[h] = m;
        sum[h] = l + e;
    }
}

// Runs the best kernel for this CPU and head size over the positions `kv` places.
static void attention(const float *q, int64_t g, int64_t hd, const vk_kv_rows *kv, int kv_type, int64_t n,
                      float scale, float softcap, const float *sinks, float *scores, float *out, float *max_out,
                      float *sum_out) {
    float mx[g], sum[g];
#if VK_HAVE_AVX2
    if (hd % 32 == 0 && VK_K.level >= 1) {
        vk_attention_avx2(q, g, hd, kv, kv_type, n, scale, softcap, scores, out, mx, sum);
    } else
#endif
        attention_portable(q, g, hd, kv, kv_type, n, scale, softcap, scores, out, mx, sum);
    if (sinks) add_sinks(out, g, hd, sinks, mx, sum);
    for (int64_t h = 0; h < g; h++) {
        if (max_out) max_out[h] = mx[h];
        if (sum_out) sum_out[h] = sum[h];
    }
}

void vk_paged_attention(const float *q, int64_t g, int64_t hd, const void *k, const void *v,
                        int kv_type, const int32_t *block_table, int64_t block_size, int64_t block_stride,
                        int64_t start, int64_t n, float scale, float softcap, const float *sinks, float *scores,
                        float *out, float *max_out, float *sum_out) {
    const vk_kv_rows kv = {.k = k, .v = v, .table = block_table, .block_size = block_size,
                           .block_stride = block_stride, .stride = hd, .start = start};
    attention(q, g, hd, &kv, kv_type, n, scale, softcap, sinks, scores, out, max_out, sum_out);
}

void vk_contiguous_attention(const float *q, int64_t g, int64_t hd, const void *k, const void *v,
                             int kv_type, int64_t stride, int64_t n, int64_t prefetch, float scale,
                             float softcap, const float *sinks, float *scores, float *out, float *max_out,
                             float *sum_out) {
    const vk_kv_rows kv = {.k = k, .v = v, .stride = stride, .prefetch = prefetch};
    attention(q, g, hd, &kv, kv_type, n, scale, softcap, sinks, scores, out, max_out, sum_out);
}

void vk_attention_merge(const float *outs, const float *maxes, const float *sums, int64_t parts,
                        int64_t g, int64_t hd, const float *sinks, float *out) {
    for (int64_t h = 0; h < g; h++) {
        float m = sinks ? sinks[h] : -INFINITY;
        for (int64_t p = 0; p < parts; p++) if (maxes[p * g + h] > m) m = maxes[p * g + h];
        float w[parts], total = sinks ? expf(sinks[h] - m) : 0;
        for (int64_t p = 0; p < parts; p++) total += (w[p] = sums[p * g + h] * expf(maxes[p * g + h] - m));
        for (int64_t d = 0; d < hd; d++) {
            float acc = 0;
            for (int64_t p = 0; p < parts; p++) acc += w[p] * outs[(p * g + h) * hd + d];
            out[h * hd + d] = acc / total;
        }
    }
}
