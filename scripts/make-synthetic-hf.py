#!/usr/bin/env python3
"""Writes a synthetic Hugging Face checkpoint of a real small model's shape with random BF16
weights, for benchmarks (its outputs mean nothing; not a fixture, nothing here is committed).

  python3 scripts/make-synthetic-hf.py /tmp/synth-qwen2 --arch qwen2
  python3 scripts/make-synthetic-hf.py /tmp/synth-llama --arch llama --shard-size 300MB --gguf

Shapes (--arch):
  qwen2    Qwen2.5-0.5B: hidden 896, 24 layers, 14 heads / 2 KV heads (head_dim 64), FFN 4864,
           vocab 151936, tied embeddings, q/k/v bias, rope theta 1e6                 ~494M
  qwen3    Qwen3-0.6B: hidden 1024, 28 layers, 16 / 8 heads, head_dim 128, FFN 3072, vocab
           151936, tied embeddings, q/k RMSNorm, rope theta 1e6                      ~596M
  llama    Llama-3-style: hidden 1024, 16 layers, 16 / 4 heads, FFN 4096, vocab 128256,
           untied lm_head, llama3 rope scaling (factor 32, original context 8192), theta 5e5  ~505M
  mistral  Mistral-style: hidden 1024, 28 layers, 16 / 4 heads, FFN 4096, vocab 32768, untied,
           sliding window 4096, theta 1e6                                            ~493M
  gemma3   Gemma-3-270M: hidden 640, 18 layers, 4 / 1 heads, head_dim 256, FFN 2048, vocab
           262144, tied, q/k RMSNorm, sandwich norms (stored as offsets from 1), five local
           layers (window 512, base 1e4) to one global (base 1e6), GELU-tanh          ~268M
  phi3     Phi-3-mini-4k: hidden 3072, 32 layers, 32 / 32 heads (head_dim 96), FFN 8192, vocab
           32064, untied, fused qkv_proj and gate_up_proj, sliding window 2047       ~3.8B
  qwen2-1.5b   Qwen2.5-1.5B: hidden 1536, 28 layers, 12 / 2 heads (head_dim 128), FFN 8960,
           otherwise as qwen2                                                        ~1.54B
  llama3.2-1b  Llama-3.2-1B: hidden 2048, 16 layers, 32 / 8 heads (head_dim 64), FFN 8192,
           vocab 128256, tied, llama3 rope scaling as llama                          ~1.24B
  gemma3-1b    Gemma-3-1B: hidden 1152, 26 layers, 4 / 1 heads (head_dim 256), FFN 6912,
           otherwise as gemma3                                                       ~1.0B
--layers changes the depth.

The directory gets config.json (laid out as transformers 4.x wrote it, as the published
checkpoints are), model.safetensors (or shards of at most --shard-size plus
model.safetensors.index.json), generation_config.json, and a byte-level BPE tokenizer
(tokenizer.json, tokenizer_config.json with a ChatML chat template) whose vocabulary fills the
model's: trained on ~20 MB of the Python standard library's source (English and code, at hand on
any machine; the tokenizers library stops short of the Qwen/Llama vocabulary sizes on it), filled
up with random merges that extend words, then <|endoftext|>, <|im_start|>, <|im_end|>, then (Qwen)
unnamed padding ids as real Qwen vocabularies have. Its pre-tokenizer is exactly Llama 3's or
Qwen2's Split regex, so llama.cpp's converter can be told its name.

Weights are written tensor by tensor, in chunks, straight to safetensors with numpy (no torch,
bounded memory): matrices N(0, 1/fan_in), norms 1 + N(0, 0.1²) (Gemma's offsets N(0, 0.1²)),
biases N(0, 0.1²).

--gguf also writes OUT_DIR-BF16.gguf and OUT_DIR-F16.gguf beside the directory with llama.cpp's
convert_hf_to_gguf.py (llama-cpp-python's sdist, fetched into the temp directory unless
--llama-cpp names a llama.cpp tree; needs torch). --check loads the result with transformers and
runs one forward pass.
"""
import argparse
import json
import random
import re
import shutil
import struct
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

from gguf_convert import LLAMA3_SPLIT, PRE_NAME, QWEN2_SPLIT, convert, fetch_llama_cpp

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

ARCHS = {
    "qwen2": dict(cls="Qwen2ForCausalLM", model_type="qwen2", hidden=896, layers=24, heads=14, kv=2, head_dim=64,
                  ffn=4864, vocab=151936, regular=151643, tied=True, bias=True, qk_norm=False, split=QWEN2_SPLIT,
                  extra={"rope_theta": 1000000.0, "rope_scaling": None, "max_position_embeddings": 32768,
                         "rms_norm_eps": 1e-6, "use_sliding_window": False, "sliding_window": 32768,
                         "max_window_layers": 24},
                  generation={"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20,
                              "repetition_penalty": 1.05}),
    "qwen3": dict(cls="Qwen3ForCausalLM", model_type="qwen3", hidden=1024, layers=28, heads=16, kv=8, head_dim=128,
                  ffn=3072, vocab=151936, regular=151643, tied=True, bias=False, qk_norm=True, split=QWEN2_SPLIT,
                  extra={"rope_theta": 1000000.0, "rope_scaling": None, "max_position_embeddings": 40960,
                         "rms_norm_eps": 1e-6, "attention_bias": False, "use_sliding_window": False,
                         "sliding_window": None, "max_window_layers": 28},
                  generation={"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20}),
    "llama": dict(cls="LlamaForCausalLM", model_type="llama", hidden=1024, layers=16, heads=16, kv=4, head_dim=64,
                  ffn=4096, vocab=128256, regular=128253, tied=False, bias=False, qk_norm=False, split=LLAMA3_SPLIT,
                  extra={"rope_theta": 500000.0, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
                         "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                          "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                         "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1},
                  generation={"do_sample": True, "temperature": 0.6, "top_p": 0.9}),
    "mistral": dict(cls="MistralForCausalLM", model_type="mistral", hidden=1024, layers=28, heads=16, kv=4,
                    head_dim=64, ffn=4096, vocab=32768, regular=32765, tied=False, bias=False, qk_norm=False,
                    split=LLAMA3_SPLIT,
                    extra={"rope_theta": 1000000.0, "rope_scaling": None, "max_position_embeddings": 32768,
                           "rms_norm_eps": 1e-5, "sliding_window": 4096},
                    generation={}),
    "gemma3": dict(cls="Gemma3ForCausalLM", model_type="gemma3_text", hidden=640, layers=18, heads=4, kv=1, head_dim=256,
                   ffn=2048, vocab=262144, regular=262141, tied=True, bias=False, qk_norm=True, split=LLAMA3_SPLIT,
                   gemma=True,
                   extra={"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": None,
                          "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "sliding_window": 512,
                          "sliding_window_pattern": 6, "query_pre_attn_scalar": 256,
                          "hidden_activation": "gelu_pytorch_tanh", "final_logit_softcapping": None,
                          "attn_logit_softcapping": None, "attention_bias": False},
                   generation={"do_sample": True, "top_k": 64, "top_p": 0.95}),
    "phi3": dict(cls="Phi3ForCausalLM", model_type="phi3", hidden=3072, layers=32, heads=32, kv=32, head_dim=96,
                 ffn=8192, vocab=32064, regular=32061, tied=False, bias=False, qk_norm=False, split=LLAMA3_SPLIT,
                 fused=True,
                 extra={"rope_theta": 10000.0, "rope_scaling": None, "max_position_embeddings": 4096,
                        "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "sliding_window": 2047},
                 generation={}),
}
ARCHS["qwen2-1.5b"] = dict(ARCHS["qwen2"], hidden=1536, layers=28, heads=12, kv=2, head_dim=128, ffn=8960,
                           extra=dict(ARCHS["qwen2"]["extra"], max_window_layers=28))
ARCHS["llama3.2-1b"] = dict(ARCHS["llama"], hidden=2048, layers=16, heads=32, kv=8, head_dim=64, ffn=8192, tied=True)
ARCHS["gemma3-1b"] = dict(ARCHS["gemma3"], hidden=1152, layers=26, heads=4, kv=1, head_dim=256, ffn=6912)


def parse_size(text):
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMG]?)(i?B)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text} (e.g. 500MB, 2GB)")
    unit = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2).upper()]
    return int(float(m.group(1)) * unit)


# --- tokenizer ---------------------------------------------------------------------------------

def byte_chars():
    """GPT-2's byte → printable character table (byte-level BPE's alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


def corpus(limit=20_000_000):
    """About 20 MB of the Python standard library's source: English and code at hand anywhere."""
    root = Path(sysconfig.get_paths()["stdlib"])
    n = 0
    for path in sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts):
        text = path.read_text(encoding="utf-8", errors="ignore")
        yield text
        n += len(text)
        if n >= limit:
            return


def write_tokenizer(out, a, seed):
    """A byte-level BPE of `regular` tokens trained on corpus() (which stops short of the larger
    vocabularies), filled up with random merges that extend words by letters; then the special
    tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    def pipeline(tok):
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(a["split"]), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
        return tok

    trained = pipeline(Tokenizer(models.BPE()))
    trained.train_from_iterator(corpus(), trainers.BpeTrainer(
        vocab_size=a["regular"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(trained.to_str())["model"]
    vocab = dict(model["vocab"])
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model["merges"]]
    n_trained = len(vocab)

    rng = random.Random(seed)
    chars = byte_chars()
    letters = [chars[b] for b in b"abcdefghijklmnopqrstuvwxyz"]
    space = chars[ord(" ")]
    words = sorted(t for t in vocab if re.fullmatch(rf"{space}?[A-Za-z]{{2,8}}", t))
    while len(vocab) < a["regular"]:
        left, right = rng.choice(words), rng.choice(letters)
        if left + right not in vocab and len(left) < 14:
            vocab[left + right] = len(vocab)
            merges.append((left, right))
            words.append(left + right)

    tok = pipeline(Tokenizer(models.BPE(vocab=vocab, merges=merges)))
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    bos = SPECIALS[0]
    if a["model_type"] == "llama":  # Llama 3 adds its begin-of-text token
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, a["regular"])])
    else:
        tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    assert tok.token_to_id(SPECIALS[0]) == a["regular"]
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": SPECIALS[0], "eos_token": SPECIALS[2], "pad_token": SPECIALS[0], "chat_template": CHATML,
        "model_max_length": a["extra"]["max_position_embeddings"],
        # llama.cpp's Phi-3 converter reads a byte-level vocabulary only for this class name.
        "tokenizer_class": "GPT2Tokenizer" if a.get("fused") else "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False}, indent=2) + "\n")
    return n_trained


# --- weights -----------------------------------------------------------------------------------

def tensor_plan(a):
    """(name, shape, kind) in the order transformers writes them."""
    h, hd = a["hidden"], a["head_dim"]
    plan = [("model.embed_tokens.weight", (a["vocab"], h), "matrix")]
    norm = "offset_norm" if a.get("gemma") else "norm"
    for i in range(a["layers"]):
        p = f"model.layers.{i}."
        plan.append((p + "input_layernorm.weight", (h,), norm))
        if a.get("fused"):
            plan.append((p + "self_attn.qkv_proj.weight", ((a["heads"] + 2 * a["kv"]) * hd, h), "matrix"))
        for proj, rows in (("q", a["heads"] * hd), ("k", a["kv"] * hd), ("v", a["kv"] * hd)):
            if a.get("fused"):
                break
            plan.append((p + f"self_attn.{proj}_proj.weight", (rows, h), "matrix"))
            if a["bias"]:
                plan.append((p + f"self_attn.{proj}_proj.bias", (rows,), "bias"))
        plan.append((p + "self_attn.o_proj.weight", (h, a["heads"] * hd), "matrix"))
        if a["qk_norm"]:
            plan += [(p + "self_attn.q_norm.weight", (hd,), norm), (p + "self_attn.k_norm.weight", (hd,), norm)]
        plan.append((p + "post_attention_layernorm.weight", (h,), norm))
        if a.get("gemma"):
            plan += [(p + "pre_feedforward_layernorm.weight", (h,), norm), (p + "post_feedforward_layernorm.weight", (h,), norm)]
        if a.get("fused"):
            plan.append((p + "mlp.gate_up_proj.weight", (2 * a["ffn"], h), "matrix"))
        else:
            plan += [(p + "mlp.gate_proj.weight", (a["ffn"], h), "matrix"), (p + "mlp.up_proj.weight", (a["ffn"], h), "matrix")]
        plan.append((p + "mlp.down_proj.weight", (h, a["ffn"]), "matrix"))
    plan.append(("model.norm.weight", (h,), norm))
    if not a["tied"]:
        plan.append(("lm_head.weight", (a["vocab"], h), "matrix"))
    return plan


def to_bf16(x):
    """float32 → bfloat16 bits, rounding to nearest even."""
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def tensor_chunks(rng, shape, kind, chunk=1 << 23):
    n = int(np.prod(shape))
    std = {"matrix": 1 / np.sqrt(shape[-1]), "norm": 0.1, "offset_norm": 0.1, "bias": 0.1}[kind]
    for start in range(0, n, chunk):
        x = rng.standard_normal(min(chunk, n - start), dtype=np.float32)
        x *= np.float32(std)
        if kind == "norm":
            x += np.float32(1)
        yield to_bf16(x).tobytes()


def write_safetensors(path, items, rng):
    header, offset = {}, 0
    for name, shape, _ in items:
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, shape, kind in items:
            for chunk in tensor_chunks(rng, shape, kind):
                f.write(chunk)


def write_weights(out, a, shard_size, seed):
    plan = tensor_plan(a)
    rng = np.random.default_rng(seed)
    if not shard_size:
        write_safetensors(out / "model.safetensors", plan, rng)
        return sum(int(np.prod(s)) for _, s, _ in plan)
    shards, current, size = [], [], 0
    for item in plan:
        nbytes = int(np.prod(item[1])) * 2
        if current and size + nbytes > shard_size:
            shards.append(current)
            current, size = [], 0
        current.append(item)
        size += nbytes
    shards.append(current)
    weight_map = {}
    for i, items in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(out / name, items, rng)
        weight_map.update({n: name for n, _, _ in items})
    total = sum(int(np.prod(s)) for _, s, _ in plan)
    (out / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total * 2}, "weight_map": weight_map}, indent=2) + "\n")
    return total


def write_config(out, a):
    config = {
        "architectures": [a["cls"]], "model_type": a["model_type"], "hidden_size": a["hidden"],
        "intermediate_size": a["ffn"], "num_hidden_layers": a["layers"], "num_attention_heads": a["heads"],
        "num_key_value_heads": a["kv"], "head_dim": a["head_dim"], "vocab_size": a["vocab"],
        "hidden_act": "gelu_pytorch_tanh" if a.get("gemma") else "silu",
        "tie_word_embeddings": a["tied"], "bos_token_id": a["regular"], "eos_token_id": a["regular"] + 2,
        "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.46.0", **a["extra"]}
    (out / "config.json").write_text(json.dumps(dict(sorted(config.items())), indent=2) + "\n")
    gen = dict(a["generation"], bos_token_id=a["regular"], eos_token_id=[a["regular"] + 2, a["regular"]])
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")


def check(out):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok("The quick brown fox jumps over the lazy dog, 12345 times.", return_tensors="pt")["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        logits = model(ids).logits[0, -1]
    print(f"check: {len(ids[0])} prompt tokens {ids[0].tolist()[:12]}..., last logits finite: "
          f"{bool(torch.isfinite(logits).all())}, argmax {int(logits.argmax())} = {tok.decode([int(logits.argmax())])!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the directory to write (replaced if it exists and --force)")
    ap.add_argument("--arch", choices=list(ARCHS), default="qwen2")
    ap.add_argument("--layers", type=int, help="number of layers (default: the shape's)")
    ap.add_argument("--shard-size", type=parse_size, help="shard the weights into files of at most this size (e.g. 500MB)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gguf", action="store_true", help="also write OUT-BF16.gguf and OUT-F16.gguf with convert_hf_to_gguf.py")
    ap.add_argument("--gguf-types", default="bf16,f16", help="the GGUF types --gguf writes (default: %(default)s)")
    ap.add_argument("--llama-cpp", type=Path, help="a llama.cpp source tree for --gguf (default: fetched sdist)")
    ap.add_argument("--check", action="store_true", help="load the result with transformers and run a forward pass")
    ap.add_argument("--force", action="store_true", help="replace an existing OUT")
    args = ap.parse_args()

    a = dict(ARCHS[args.arch])
    if args.layers:
        a["layers"] = args.layers
        if "max_window_layers" in a["extra"]:
            a["extra"] = dict(a["extra"], max_window_layers=args.layers)
    out = args.out
    if out.exists():
        if not args.force:
            sys.exit(f"{out} exists (--force replaces it)")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.time()
    write_config(out, a)
    trained = write_tokenizer(out, a, args.seed)
    print(f"tokenizer: {trained} trained tokens, {a['regular'] - trained} random, {len(SPECIALS)} special, "
          f"{a['vocab'] - a['regular'] - len(SPECIALS)} unnamed ids; {time.time() - t0:.0f} s")
    params = write_weights(out, a, args.shard_size, args.seed)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{out}: {a['cls']}, {params / 1e6:.0f}M parameters, {size / 2**20:.0f} MiB, {time.time() - t0:.0f} s")
    if args.check:
        check(out)
    if args.gguf:
        llama_cpp = (args.llama_cpp or fetch_llama_cpp()).resolve()
        for outtype in args.gguf_types.split(","):
            path = out.parent / f"{out.name}-{outtype.upper()}.gguf"
            t0 = time.time()
            # Not the arch: llama.cpp keys vocabulary fix-ups on "phi3" in the model name.
            convert(llama_cpp, PRE_NAME[a["split"]], out, path, outtype, name="synthetic-shape")
            print(f"{path}: {path.stat().st_size / 2**20:.0f} MiB, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
