#!/usr/bin/env python3
"""Fixtures that pin this engine's quantized-weight decoding to ggml's own definition, as the
`gguf` Python package (gguf-py, llama.cpp's reference reader) implements it:

- Tests/VLLMComputeTests/Fixtures/quant/<TYPE>-random.bin: random blocks of TYPE (every byte
  random except the fp16 scale fields, which are random finite halves from 1e-7 to 1, subnormals
  included) and gguf-py's `quants.dequantize` of them.
- <TYPE>-quantized.bin, for the types gguf-py can also quantize (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0):
  random floats (plus an all-zero block and a constant block) quantized by gguf-py, and the
  dequantized values of those bytes.
  Each file: b"VKQF", u32 ggml type id, u32 element count n, u32 byte count b, then b bytes of
  blocks, then n little-endian float32.
- Tests/Fixtures/tiny-models/llama/quant/llama-<type>.gguf: the tiny Llama (tiny-models/llama/
  llama.gguf) with every 2-D weight (embeddings and output included) converted from BF16 to Q5_0,
  Q5_1 (gguf-py's quantizers) or IQ4_NL (a nearest-level quantizer written here: gguf-py has no
  IQ4_NL quantizer; any valid block is a valid test of the reader). Norms and rope_freqs stay F32.
  The K-quants and IQ4_XS need rows of 256 elements; the tiny model's rows have 64 or 128.

Deterministic (fixed seeds): a rerun with the same gguf/numpy versions writes identical files.
Usage: python3 scripts/make-quant-fixtures.py   (needs `pip install gguf numpy`)
"""
import struct
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

ROOT = Path(__file__).resolve().parent.parent
KERNEL_OUT = ROOT / "Tests/VLLMComputeTests/Fixtures/quant"
MODEL_IN = ROOT / "Tests/Fixtures/tiny-models/llama/llama.gguf"
MODEL_OUT = ROOT / "Tests/Fixtures/tiny-models/llama/quant"

# Byte offsets of each block's fp16 scale fields (ggml-common.h block_* structs).
HALF_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0],
}
QUANTIZABLE = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
ELEMENTS = 1024


def write_case(path, qtype, raw, values):
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    with open(path, "wb") as f:
        f.write(b"VKQF" + struct.pack("<III", int(qtype), values.size, raw.size))
        f.write(raw.tobytes())
        f.write(values.tobytes())


def random_halves(rng, n):
    # Magnitudes over seven decades, so some land in fp16's subnormal range; never inf or NaN.
    v = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-7, 0, n)
    return v.astype(np.float16).view(np.uint8).reshape(n, 2)


def kernel_fixtures():
    KERNEL_OUT.mkdir(parents=True, exist_ok=True)
    for i, (name, offsets) in enumerate(HALF_FIELDS.items()):
        qtype = T[name]
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        nb = ELEMENTS // block_elems
        rng = np.random.default_rng(1000 + i)
        raw = rng.integers(0, 256, (nb, block_bytes), dtype=np.uint8)
        for o in offsets:
            raw[:, o:o + 2] = random_halves(rng, nb)
        values = quants.dequantize(raw.reshape(-1), qtype)
        assert np.isfinite(values).all(), name
        write_case(KERNEL_OUT / f"{name}-random.bin", qtype, raw, values)
        if name in QUANTIZABLE:
            x = rng.normal(0, 1, ELEMENTS).astype(np.float32) * rng.choice([1e-3, 1.0, 30.0])
            x[:block_elems] = 0.0
            x[block_elems:2 * block_elems] = 0.5
            q = quants.quantize(x, qtype)
            write_case(KERNEL_OUT / f"{name}-quantized.bin", qtype, q, quants.dequantize(q, qtype))


def quantize_iq4_nl(x):
    """Nearest-level IQ4_NL: per 32 elements d = (the signed value of largest magnitude) / -127,
    so that element is exactly level 0 (-127); every element then takes the nearest of the 16
    levels of x / d. Returns the blocks' bytes (block_iq4_nl: fp16 d, 16 bytes of nibbles)."""
    levels = np.array(quants.IQ4_NL.kvalues, dtype=np.float32)
    blocks = x.reshape(-1, 32).astype(np.float32)
    imax = np.abs(blocks).argmax(axis=1)
    big = blocks[np.arange(len(blocks)), imax]
    d = (big / -127.0).astype(np.float16)
    df = d.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(df[:, None] == 0, 0.0, blocks / df[:, None])
    idx = np.abs(scaled[..., None] - levels).argmin(axis=-1).astype(np.uint8)
    qs = idx[:, :16] | (idx[:, 16:] << 4)
    return np.concatenate([d.view(np.uint8).reshape(-1, 2), qs], axis=1).reshape(-1)


def field_value(field):
    return field.contents()


def tiny_models():
    MODEL_OUT.mkdir(parents=True, exist_ok=True)
    reader = gguf.GGUFReader(MODEL_IN)
    arch = reader.fields["general.architecture"].contents()
    for qname in ["Q5_0", "Q5_1", "IQ4_NL"]:
        qtype = T[qname]
        out = MODEL_OUT / f"llama-{qname.lower()}.gguf"
        w = gguf.GGUFWriter(out, arch)
        for key, field in reader.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture":
                continue
            vtype = field.types[0]
            sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
            w.add_key_value(key, field.contents(), vtype, sub_type=sub)
        for t in reader.tensors:
            shape = [int(s) for s in t.shape]  # ggml order: innermost first
            values = quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape[::-1])
            if len(shape) == 2 and t.tensor_type != T.F32:
                if qtype == T.IQ4_NL:
                    data = quantize_iq4_nl(values).reshape(shape[1], -1)
                else:
                    data = quants.quantize(values, qtype)
                w.add_tensor(t.name, data, raw_shape=data.shape, raw_dtype=qtype)
            else:
                w.add_tensor(t.name, values)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    kernel_fixtures()
    tiny_models()
