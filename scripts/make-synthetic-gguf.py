#!/usr/bin/env python3
"""Writes a synthetic Llama-architecture GGUF model with random weights, for speed benchmarks.

The outputs of such a model mean nothing; what matters is that its shapes, tensor types and
file layout are those of a real model of that size, so both engines (swift-vllm and llama.cpp)
load it and spend the same work per token on it.

  scripts/make-synthetic-gguf.py --params 0.5B --type Q4_K_M --out /tmp/synth-0.5B-Q4_K_M.gguf
  scripts/make-synthetic-gguf.py --hidden 256 --layers 2 --heads 4 --kv-heads 2 --ffn 512 --type Q8_0 --out tiny.gguf

Tokenizer and chat template: every `tokenizer.*` key is copied from a tokenizer source GGUF
(default: the project's default model, SmolLM2-135M-Instruct; its vocabulary of 49152 tokens
sets the vocab size), so both engines tokenize prompts the same way.

Embeddings are tied (no output.weight, the LM head reads token_embd) as in Qwen2.5-0.5B/1.5B and
SmolLM2; --untied adds a separate output.weight as Llama models have.

Weight types (--type), following the choices of llama.cpp's quantizer (src/llama-quant.cpp,
llama_tensor_get_type_impl), approximately, for a dense non-Falcon model without an imatrix:
  Q8_0   every matrix Q8_0.
  Q4_0   every matrix Q4_0, except the output matrix (output.weight, or token_embd.weight when
         tied) which llama.cpp makes Q6_K (Q8_0 when its row length is not a multiple of 256).
  Q4_K_M every matrix Q4_K, except: the output matrix (as above) Q6_K; attn_v and ffn_down Q6_K
         in the layers where llama.cpp's "use more bits" rule holds, i.e. layer i of n with
         i < n/8 or i >= 7n/8 or (i - n/8) % 3 == 2 (about the first and last eighth and every
         third layer between: roughly half of them).
  --pure makes every matrix the base type (no Q6_K output), like llama-quantize --pure.
llama.cpp falls back to Q5_0 for Q4_K rows not a multiple of 256; swift-vllm has no Q5_0, so this
script refuses such shapes for Q4_K_M instead.

Norm weights are F32 ones. Q8_0/Q4_0 weights are gguf.quants.quantize() of N(0, 0.02) floats;
the package cannot quantize to Q4_K/Q6_K, so those blocks are built directly from random bits
with small, finite fp16 scales (weights of roughly 0.02 standard deviation; no NaN/Inf).
"""
import argparse
import os
import sys
import time

import numpy as np
import gguf
from gguf.quants import quantize

T = gguf.GGMLQuantizationType

# Named sizes. Vocabulary comes from the tokenizer source (49152 for SmolLM2), embeddings tied.
#  0.5B: hidden 1024, 24 layers, 16 heads x 64, 2 KV heads, FFN 5120 -> ~0.48B parameters.
#        (Qwen2.5-0.5B has hidden 896, which is not a multiple of the 256-wide K-quant blocks.)
#  1.5B: Qwen2.5-1.5B's body: hidden 1536, 28 layers, 12 heads x 128, 2 KV heads, FFN 8960
#        -> ~1.39B parameters with this vocabulary (1.54B with Qwen's 151936 tokens).
PRESETS = {
    "0.5B": dict(hidden=1024, layers=24, heads=16, kv_heads=2, ffn=5120),
    "1.5B": dict(hidden=1536, layers=28, heads=12, kv_heads=2, ffn=8960),
}

FILE_TYPES = {"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
              "Q4_K_M": gguf.LlamaFileType.MOSTLY_Q4_K_M}

WEIGHT_STD = 0.02


def default_tokenizer_source():
    return os.path.join(os.environ.get("SWIFT_VLLM_MODEL_DIR", os.path.expanduser("~/.cache/swift-vllm/models")),
                        "SmolLM2-135M-Instruct.Q4_1.gguf")


def use_more_bits(i, n):
    # llama.cpp's rule for which layers of a Q4_K_M model get Q6_K attn_v / ffn_down.
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def fp16_bytes(values):
    """float values -> little-endian fp16 as (..., 2) uint8."""
    return values.astype("<f2").view(np.uint8).reshape(*values.shape, 2)


def random_q4_k(rng, rows, cols):
    """Random valid Q4_K blocks, ggml's block_q4_K (ggml-common.h), QK_K = 256 weights per block,
    144 bytes: fp16 d, fp16 dmin, scales[12] (eight 6-bit scales and eight 6-bit mins packed as
    ggml's get_scale_min_k4 reads them), qs[128] (256 4-bit quants, two per byte).
    Weight = d * sc[j] * q - dmin * m[j] for sub-block j of 32 weights."""
    nb = rows * cols // 256
    out = np.empty((nb, 144), dtype=np.uint8)
    d = (rng.uniform(0.5, 1.0, nb) * 1.4e-3).astype(np.float32)
    out[:, 0:2] = fp16_bytes(d)
    out[:, 2:4] = fp16_bytes(d)  # dmin = d, so that m ~= 7.5 * sc centres q in 0..15 around zero
    sc = rng.integers(4, 9, size=(nb, 8), dtype=np.uint8)            # 6-bit scales, kept small
    m = np.minimum(np.rint(sc * 7.5), 63).astype(np.uint8)            # 6-bit mins
    s = out[:, 4:16]
    # Bytes 0-3: low 6 bits sc[0..3], top 2 bits = bits 4-5 of sc[4..7];
    # bytes 4-7: low 6 bits m[0..3], top 2 bits = bits 4-5 of m[4..7];
    # bytes 8-11: low nibble = bits 0-3 of sc[4..7], high nibble = bits 0-3 of m[4..7].
    s[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    s[:, 4:8] = m[:, 0:4] | ((m[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((m[:, 4:8] & 0x0F) << 4)
    out[:, 16:144] = rng.integers(0, 256, size=(nb, 128), dtype=np.uint8)
    return out.reshape(rows, cols // 256 * 144)


def random_q6_k(rng, rows, cols):
    """Random valid Q6_K blocks, ggml's block_q6_K (ggml-common.h), QK_K = 256 weights per block,
    210 bytes: ql[128] (low 4 bits of each 6-bit quant), qh[64] (high 2 bits), int8 scales[16]
    (one per 16 weights), fp16 d. Weight = d * scale * (q - 32). Any ql/qh bits are valid."""
    nb = rows * cols // 256
    out = np.empty((nb, 210), dtype=np.uint8)
    out[:, 0:192] = rng.integers(0, 256, size=(nb, 192), dtype=np.uint8)
    out[:, 192:208] = rng.integers(8, 17, size=(nb, 16), dtype=np.int8).view(np.uint8)
    out[:, 208:210] = fp16_bytes((rng.uniform(0.5, 1.0, nb) * 1.4e-4).astype(np.float32))
    return out.reshape(rows, cols // 256 * 210)


def random_legacy(rng, rows, cols, qtype):
    """Q8_0 (ggml block_q8_0: fp16 d + 32 int8) or Q4_0 (block_q4_0: fp16 d + 16 bytes of
    nibbles), made by the gguf package's reference quantizer from N(0, WEIGHT_STD) floats;
    quantized in slices of rows to keep the float temporaries small."""
    parts = []
    step = max(1, (1 << 22) // cols)
    for r0 in range(0, rows, step):
        n = min(step, rows - r0)
        x = rng.standard_normal((n, cols), dtype=np.float32)
        x *= WEIGHT_STD
        parts.append(quantize(x, qtype))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def random_weight(rng, rows, cols, qtype):
    if qtype == T.Q4_K:
        return random_q4_k(rng, rows, cols)
    if qtype == T.Q6_K:
        return random_q6_k(rng, rows, cols)
    return random_legacy(rng, rows, cols, qtype)


def plan_types(args, has_output):
    """Tensor name -> GGML type, as described in the module docstring."""
    base = {"Q8_0": T.Q8_0, "Q4_0": T.Q4_0, "Q4_K_M": T.Q4_K}[args.type]
    h, n = args.hidden, args.layers

    def output_type():
        if args.pure or base == T.Q8_0:
            return base
        return T.Q6_K if h % 256 == 0 else T.Q8_0

    types = {"token_embd.weight": output_type() if not has_output else base}
    if has_output:
        types["output.weight"] = output_type()
    for i in range(n):
        more = args.type == "Q4_K_M" and not args.pure and use_more_bits(i, n)
        for name in ("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"):
            types[f"blk.{i}.{name}.weight"] = base
        types[f"blk.{i}.attn_v.weight"] = T.Q6_K if more else base
        types[f"blk.{i}.ffn_down.weight"] = T.Q6_K if more else base
    return types


def copy_tokenizer(writer, reader):
    n_vocab = None
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        writer.add_key_value(key, value, vtype, sub_type=sub)
        if key == "tokenizer.ggml.tokens":
            n_vocab = len(value)
    if n_vocab is None:
        sys.exit("tokenizer source has no tokenizer.ggml.tokens")
    return n_vocab


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", choices=sorted(PRESETS), help="named size (default 0.5B unless all shape options are given)")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--ffn", type=int)
    ap.add_argument("--type", choices=sorted(FILE_TYPES), default="Q4_K_M")
    ap.add_argument("--pure", action="store_true", help="every matrix the base type (no Q6_K mix)")
    ap.add_argument("--untied", action="store_true", help="write a separate output.weight")
    ap.add_argument("--rope-base", type=float, default=1000000.0)
    ap.add_argument("--context-length", type=int, default=4096)
    ap.add_argument("--tokenizer-from", default=default_tokenizer_source(), help="GGUF whose tokenizer.* keys are copied")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    shape_opts = ("hidden", "layers", "heads", "kv_heads", "ffn")
    preset = PRESETS[args.params or "0.5B"]
    for k in shape_opts:
        if getattr(args, k) is None:
            setattr(args, k, preset[k])
    h, n_head, n_kv = args.hidden, args.heads, args.kv_heads
    if h % n_head or n_head % n_kv:
        sys.exit("--hidden must be a multiple of --heads, and --heads of --kv-heads")
    head_dim = h // n_head
    block = 256 if args.type == "Q4_K_M" else 32
    for what, cols in (("--hidden", h), ("--ffn", args.ffn)):
        if cols % block:
            sys.exit(f"{what} {cols} must be a multiple of {block} for {args.type}")

    t0 = time.perf_counter()
    reader = gguf.GGUFReader(args.tokenizer_from)
    writer = gguf.GGUFWriter(args.out, "llama")
    n_vocab = copy_tokenizer(writer, reader)
    del reader

    desc = f"{args.params or 'custom'} h{h} l{args.layers} ffn{args.ffn} {args.type}"
    writer.add_name(f"synthetic-llama {desc}")
    writer.add_context_length(args.context_length)
    writer.add_embedding_length(h)
    writer.add_block_count(args.layers)
    writer.add_feed_forward_length(args.ffn)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(args.rope_base)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(FILE_TYPES[args.type])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    rng = np.random.default_rng(args.seed)
    types = plan_types(args, args.untied)
    ones = np.ones(h, dtype=np.float32)
    n_params = 0

    def add(name, rows, cols):
        nonlocal n_params
        qtype = types[name]
        writer.add_tensor(name, random_weight(rng, rows, cols, qtype), raw_dtype=qtype)
        n_params += rows * cols

    add("token_embd.weight", n_vocab, h)
    for i in range(args.layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones)
        add(f"blk.{i}.attn_q.weight", n_head * head_dim, h)
        add(f"blk.{i}.attn_k.weight", n_kv * head_dim, h)
        add(f"blk.{i}.attn_v.weight", n_kv * head_dim, h)
        add(f"blk.{i}.attn_output.weight", h, n_head * head_dim)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
        add(f"blk.{i}.ffn_gate.weight", args.ffn, h)
        add(f"blk.{i}.ffn_up.weight", args.ffn, h)
        add(f"blk.{i}.ffn_down.weight", h, args.ffn)
        n_params += 2 * h
    writer.add_tensor("output_norm.weight", ones)
    n_params += h
    if args.untied:
        add("output.weight", n_vocab, h)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    counts = {}
    for t in types.values():
        counts[t.name] = counts.get(t.name, 0) + 1
    print(f"wrote {args.out}: {desc}, vocab {n_vocab}, {n_params / 1e9:.3f}B params, "
          f"{os.path.getsize(args.out) / 2**20:.1f} MiB, tensor types {counts}, "
          f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
