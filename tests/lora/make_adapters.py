"""Test LoRA adapters in Hugging Face PEFT format, and for each the *merged* model.

An adapter directory holds `adapter_config.json` and `adapter_model.safetensors` (PEFT's saved
form: `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight` [r, in] and
`lora_B.weight` [out, r]); A is random, B random and non-zero, sized so that ΔW = scale·B·A
moves each weight by about 30% of its spread (outputs change clearly, text stays coherent).

The merged model is the default GGUF with W + scale·P(B)·A written, in F32, over each adapted
weight. P is the row reordering llama.cpp's convert_hf_to_gguf.py applies to Q and K (each
head's rows from rotate-half to adjacent-pair order); `check_permutation` proves on random data
that P turns Hugging Face's rotate-half RoPE into the adjacent-pair RoPE GGUF models use, so the
merged model is exactly what converting the adapted Hugging Face model would give.

Usage: python3 make_adapters.py OUT_DIR [BASE_GGUF]  (prints the adapters it made as JSON)
       python3 make_adapters.py --plain OUT_DIR COUNT RANK  (random all-linear adapters, no merged
       models; prints name=path pairs for --lora-modules)
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize
from safetensors.numpy import save_file

GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
              "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
ALL = list(GGUF_NAMES)

# name: rank, alpha, target_modules as written in the config, modules with weights, options
ADAPTERS = {
    "qv4": dict(r=4, alpha=8, targets=["q_proj", "v_proj"], dtype="float32"),
    "attn8": dict(r=8, alpha=16, targets=["q_proj", "k_proj", "o_proj"], dtype="float16"),
    "mlp32": dict(r=32, alpha=16, targets=["gate_proj", "up_proj", "down_proj", "k_proj"], dtype="float32",
                  rslora=True),
    "all64": dict(r=64, alpha=128, targets="all-linear", dtype="float32"),
}


def default_model():
    d = os.environ.get("SWIFT_VLLM_MODEL_DIR", str(Path.home() / ".cache/swift-vllm/models"))
    return str(Path(d) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def gguf_row_order(n_heads, head_dim):
    """GGUF row -> Hugging Face row inside Q (n_heads = head count) or K (KV head count)."""
    g = np.arange(n_heads * head_dim)
    head, within = g // head_dim, g % head_dim
    return head * head_dim + (within % 2) * (head_dim // 2) + within // 2


def check_permutation(n_heads=3, head_dim=8, seed=0):
    """rope_adjacent(P·v) == P·rope_rotate_half(v) for random v and angles."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n_heads * head_dim)
    theta = rng.uniform(0, 6, head_dim // 2)
    c, s = np.cos(theta), np.sin(theta)
    x = v.reshape(n_heads, 2, head_dim // 2)           # rotate-half: pair (i, i + D/2)
    hf = np.stack([x[:, 0] * c - x[:, 1] * s, x[:, 1] * c + x[:, 0] * s], 1).reshape(-1)
    order = gguf_row_order(n_heads, head_dim)
    y = v[order].reshape(n_heads, head_dim // 2, 2)    # adjacent: pair (2i, 2i + 1)
    adj = np.stack([y[..., 0] * c - y[..., 1] * s, y[..., 1] * c + y[..., 0] * s], -1).reshape(-1)
    assert np.allclose(adj, hf[order]), "the Q/K row order does not map rotate-half RoPE to adjacent pairs"


def field_value(field):
    return field.contents()


def make(out_dir, base_path=None, names=None):
    """Writes the adapters in `names` (default: all of ADAPTERS) and their merged models."""
    check_permutation()
    base_path = base_path or default_model()
    reader = GGUFReader(base_path)
    meta = {f.name: f for f in reader.fields.values()}
    arch = field_value(meta["general.architecture"])
    n_layers = int(field_value(meta[f"{arch}.block_count"]))
    n_head = int(field_value(meta[f"{arch}.attention.head_count"]))
    n_kv = int(field_value(meta[f"{arch}.attention.head_count_kv"]))
    tensors = {t.name: t for t in reader.tensors}
    key_length = meta.get(f"{arch}.attention.key_length")
    head_dim = int(field_value(key_length)) if key_length else int(field_value(meta[f"{arch}.embedding_length"])) // n_head
    made = {}
    for name, spec in ADAPTERS.items():
        if names is not None and name not in names:
            continue
        rng = np.random.default_rng(sum(map(ord, name)))  # fixed per adapter: reproducible files
        r, alpha = spec["r"], spec["alpha"]
        scale = alpha / np.sqrt(r) if spec.get("rslora") else alpha / r
        modules = ALL if spec["targets"] == "all-linear" else spec["targets"]
        weights, merged = {}, {}
        for layer in range(n_layers):
            for m in modules:
                t = tensors[f"blk.{layer}.{GGUF_NAMES[m]}.weight"]
                w = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(int(t.shape[1]), int(t.shape[0]))
                out_dim, in_dim = w.shape
                a = rng.standard_normal((r, in_dim))
                b = rng.standard_normal((out_dim, r)) * (0.3 * w.std() / (scale * np.sqrt(r)))
                a, b = a.astype(spec["dtype"]), b.astype(spec["dtype"])
                block = "mlp" if m in ("gate_proj", "up_proj", "down_proj") else "self_attn"
                prefix = f"base_model.model.model.layers.{layer}.{block}.{m}"
                weights[f"{prefix}.lora_A.weight"], weights[f"{prefix}.lora_B.weight"] = a, b
                b64 = b.astype(np.float64)
                if m in ("q_proj", "k_proj"):
                    b64 = b64[gguf_row_order(n_head if m == "q_proj" else n_kv, head_dim)]
                merged[t.name] = (w + scale * (b64 @ a.astype(np.float64))).astype(np.float32)
        d = Path(out_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        save_file(weights, str(d / "adapter_model.safetensors"), metadata={"format": "pt"})
        config = {"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": spec["targets"],
                  "use_rslora": bool(spec.get("rslora")), "bias": "none", "fan_in_fan_out": False,
                  "base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct", "task_type": "CAUSAL_LM"}
        (d / "adapter_config.json").write_text(json.dumps(config, indent=2))
        merged_path = Path(out_dir) / f"{name}-merged.gguf"
        write_merged(reader, arch, merged, merged_path)
        made[name] = {"path": str(d), "merged": str(merged_path), "rank": r}
    return made


def make_plain(out_dir, count, r, base_path=None, targets=ALL, seed=0):
    """`count` adapters of rank r with random weights (no merged models): for benchmarks."""
    reader = GGUFReader(base_path or default_model())
    tensors = {t.name: t for t in reader.tensors}
    n_layers = 1 + max(int(n.split(".")[1]) for n in tensors if n.startswith("blk."))
    rng = np.random.default_rng(seed)
    made = {}
    for i in range(count):
        weights = {}
        for layer in range(n_layers):
            for m in targets:
                in_dim, out_dim = (int(x) for x in tensors[f"blk.{layer}.{GGUF_NAMES[m]}.weight"].shape)
                block = "mlp" if m in ("gate_proj", "up_proj", "down_proj") else "self_attn"
                prefix = f"base_model.model.model.layers.{layer}.{block}.{m}"
                weights[f"{prefix}.lora_A.weight"] = (rng.standard_normal((r, in_dim)) / np.sqrt(in_dim)).astype(np.float32)
                weights[f"{prefix}.lora_B.weight"] = (rng.standard_normal((out_dim, r)) * 0.01).astype(np.float32)
        d = Path(out_dir) / f"bench{i}"
        d.mkdir(parents=True, exist_ok=True)
        save_file(weights, str(d / "adapter_model.safetensors"))
        (d / "adapter_config.json").write_text(json.dumps(
            {"peft_type": "LORA", "r": r, "lora_alpha": 2 * r, "target_modules": list(targets)}))
        made[f"bench{i}"] = str(d)
    return made


def edit_config(d, **changes):
    """Changes fields of the adapter_config.json in directory `d` (for broken-adapter tests)."""
    c = json.loads((Path(d) / "adapter_config.json").read_text())
    c.update(changes)
    (Path(d) / "adapter_config.json").write_text(json.dumps(c))


def write_merged(reader, arch, replaced, path):
    writer = GGUFWriter(str(path), arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field_value(field), vtype, sub_type=sub)
    for t in reader.tensors:
        if t.name in replaced:
            writer.add_tensor(t.name, replaced[t.name])
        else:
            writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--plain":  # --plain OUT_DIR COUNT RANK: benchmark adapters
        print(" ".join(f"{k}={v}" for k, v in make_plain(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])).items()))
    else:
        print(json.dumps(make(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None), indent=2))
