#!/usr/bin/env python3
"""Writes a synthetic gpt-oss GGUF with random weights at the real shapes, for speed and memory
benchmarks (its outputs mean nothing; both engines load it and do a real model's work per token).

  scripts/make-synthetic-gpt-oss.py --out /tmp/synth/gpt-oss-20b-synthetic.gguf          # gpt-oss-20b
  scripts/make-synthetic-gpt-oss.py --preset 120b --out ...                                # 120b's shapes

Shapes (config.json of openai/gpt-oss-20b / -120b): hidden 2880, 64 query heads and 8 KV heads of
64, 32 (20b) or 128 (120b) experts of 2880 with 4 per token, 24 or 36 layers, vocabulary 201088,
a 128-token window on the even layers, YaRN (factor 32 over 4096, base 150000), context 131072.

Types as in ggml-org's gpt-oss-20b MXFP4 GGUF (12.1 GB): expert matrices MXFP4 (ggml's
block_mxfp4: an E8M0 exponent byte, then 16 bytes of FP4 E2M1 codes, element j in the low nibble
of byte j and element j + 16 in the high one), the other matrices Q8_0 (gguf.quants of N(0, 0.02)),
router, norms, biases and sinks F32. MXFP4 blocks are random codes under exponents that keep the
weights near 0.02 in size.

The tokenizer.* keys are copied from a tokenizer source GGUF (default: the project's default
model) and its vocabulary padded up to 201088 with ordinary tokens (text "<|synthetic_pad_N|>",
so that a random model's output streams as text), so that llama.cpp, which sizes the embedding
by the token list, loads the file too. Tensors are written one at a time, so
memory stays small.
"""
import argparse
import os
import sys
import time

import numpy as np
import gguf
from gguf.quants import quantize

T = gguf.GGMLQuantizationType
PRESETS = {"20b": dict(layers=24, experts=32), "120b": dict(layers=36, experts=128)}
HIDDEN, HEADS, KV_HEADS, HEAD_DIM, EXPERT_FF, TOP_K, VOCAB = 2880, 64, 8, 64, 2880, 4, 201088
WEIGHT_STD = 0.02


def default_tokenizer_source():
    return os.path.join(os.environ.get("SWIFT_VLLM_MODEL_DIR", os.path.expanduser("~/.cache/swift-vllm/models")),
                        "SmolLM2-135M-Instruct.Q4_1.gguf")


def q8_0(rng, rows, cols):
    parts, step = [], max(1, (1 << 22) // cols)
    for r0 in range(0, rows, step):
        x = rng.standard_normal((min(step, rows - r0), cols), dtype=np.float32) * WEIGHT_STD
        parts.append(quantize(x, T.Q8_0))
    return np.concatenate(parts)


def mxfp4(rng, experts, rows, cols):
    """experts × rows rows of cols weights as block_mxfp4 bytes."""
    out = np.empty((experts, rows, cols // 32, 17), dtype=np.uint8)
    out[..., 0] = rng.integers(119, 122, size=out.shape[:-1], dtype=np.uint8)  # 2^-8 .. 2^-6
    out[..., 1:] = rng.integers(0, 256, size=(*out.shape[:-1], 16), dtype=np.uint8)
    return out.reshape(experts, rows, cols // 32 * 17)


def f32(rng, *shape, scale=WEIGHT_STD, center=0.0):
    return (center + scale * rng.standard_normal(shape)).astype(np.float32)


def copy_tokenizer(writer, reader, vocab):
    fields = {k: f for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    tokens = fields["tokenizer.ggml.tokens"].contents()
    if len(tokens) > vocab:
        sys.exit(f"the tokenizer source has {len(tokens)} tokens, more than {vocab}")
    pad = vocab - len(tokens)
    for key, field in fields.items():
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if key == "tokenizer.ggml.tokens":
            value = value + [f"<|synthetic_pad_{i}|>" for i in range(pad)]
        elif key == "tokenizer.ggml.token_type":
            value = value + [int(gguf.TokenType.NORMAL)] * pad
        elif key == "tokenizer.ggml.scores":
            value = value + [0.0] * pad
        writer.add_key_value(key, value, vtype, sub_type=sub)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="20b")
    ap.add_argument("--layers", type=int, help="override the preset's layer count (a smaller file for quick checks)")
    ap.add_argument("--tokenizer-from", default=default_tokenizer_source())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    p = dict(PRESETS[args.preset])
    if args.layers:
        p["layers"] = args.layers
    n_layers, n_exp = p["layers"], p["experts"]
    h, q_dim, kv_dim = HIDDEN, HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM

    t0 = time.perf_counter()
    writer = gguf.GGUFWriter(args.out, "gpt-oss")
    copy_tokenizer(writer, gguf.GGUFReader(args.tokenizer_from), VOCAB)
    writer.add_name(f"synthetic gpt-oss-{args.preset} ({n_layers} layers, {n_exp} experts)")
    writer.add_context_length(131072)
    writer.add_embedding_length(h)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(EXPERT_FF)
    writer.add_expert_feed_forward_length(EXPERT_FF)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_rope_freq_base(150000.0)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    writer.add_rope_scaling_factor(32.0)
    writer.add_rope_scaling_orig_ctx_len(4096)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_sliding_window(128)
    writer.add_expert_count(n_exp)
    writer.add_expert_used_count(TOP_K)
    writer.add_vocab_size(VOCAB)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_MXFP4_MOE)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    rng = np.random.default_rng(args.seed)
    # (name, GGUF shape innermost first, type, maker of the data)
    plan = [("token_embd.weight", (h, VOCAB), T.Q8_0, lambda: q8_0(rng, VOCAB, h))]
    for i in range(n_layers):
        b = f"blk.{i}."
        plan += [
            (b + "attn_norm.weight", (h,), T.F32, lambda: f32(rng, h, scale=0.1, center=1.0)),
            (b + "attn_q.weight", (h, q_dim), T.Q8_0, lambda: q8_0(rng, q_dim, h)),
            (b + "attn_q.bias", (q_dim,), T.F32, lambda: f32(rng, q_dim)),
            (b + "attn_k.weight", (h, kv_dim), T.Q8_0, lambda: q8_0(rng, kv_dim, h)),
            (b + "attn_k.bias", (kv_dim,), T.F32, lambda: f32(rng, kv_dim)),
            (b + "attn_v.weight", (h, kv_dim), T.Q8_0, lambda: q8_0(rng, kv_dim, h)),
            (b + "attn_v.bias", (kv_dim,), T.F32, lambda: f32(rng, kv_dim)),
            (b + "attn_output.weight", (q_dim, h), T.Q8_0, lambda: q8_0(rng, h, q_dim)),
            (b + "attn_output.bias", (h,), T.F32, lambda: f32(rng, h)),
            (b + "attn_sinks.weight", (HEADS,), T.F32, lambda: f32(rng, HEADS, scale=1.0)),
            (b + "post_attention_norm.weight", (h,), T.F32, lambda: f32(rng, h, scale=0.1, center=1.0)),
            (b + "ffn_gate_inp.weight", (h, n_exp), T.F32, lambda: f32(rng, n_exp, h)),
            (b + "ffn_gate_inp.bias", (n_exp,), T.F32, lambda: f32(rng, n_exp)),
            (b + "ffn_gate_exps.weight", (h, EXPERT_FF, n_exp), T.MXFP4, lambda: mxfp4(rng, n_exp, EXPERT_FF, h)),
            (b + "ffn_gate_exps.bias", (EXPERT_FF, n_exp), T.F32, lambda: f32(rng, n_exp, EXPERT_FF)),
            (b + "ffn_up_exps.weight", (h, EXPERT_FF, n_exp), T.MXFP4, lambda: mxfp4(rng, n_exp, EXPERT_FF, h)),
            (b + "ffn_up_exps.bias", (EXPERT_FF, n_exp), T.F32, lambda: f32(rng, n_exp, EXPERT_FF)),
            (b + "ffn_down_exps.weight", (EXPERT_FF, h, n_exp), T.MXFP4, lambda: mxfp4(rng, n_exp, h, EXPERT_FF)),
            (b + "ffn_down_exps.bias", (h, n_exp), T.F32, lambda: f32(rng, n_exp, h)),
        ]
    plan += [("output_norm.weight", (h,), T.F32, lambda: f32(rng, h, scale=0.1, center=1.0)),
             ("output.weight", (h, VOCAB), T.Q8_0, lambda: q8_0(rng, VOCAB, h))]

    def nbytes(shape, qtype):
        n = int(np.prod(shape))
        size, block = gguf.GGML_QUANT_SIZES[qtype][1], gguf.GGML_QUANT_SIZES[qtype][0]
        return n // block * size

    for name, shape, qtype, _ in plan:
        # GGUFWriter takes numpy's (outermost-first) shape, in bytes for quantized rows.
        outer = tuple(reversed(shape[1:]))
        if qtype == T.F32:
            writer.add_tensor_info(name, outer + (shape[0],), np.dtype(np.float32), nbytes(shape, qtype))
        else:
            block, size = gguf.GGML_QUANT_SIZES[qtype]
            writer.add_tensor_info(name, outer + (shape[0] // block * size,), np.dtype(np.uint8), nbytes(shape, qtype),
                                   raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = 0
    for name, shape, qtype, make in plan:
        data = make()
        assert data.nbytes == nbytes(shape, qtype), name
        writer.write_tensor_data(data)
        total += data.nbytes
    writer.close()
    print(f"wrote {args.out}: gpt-oss-{args.preset} shapes, {n_layers} layers, {n_exp} experts, "
          f"{os.path.getsize(args.out) / 2**30:.2f} GiB, {time.perf_counter() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
