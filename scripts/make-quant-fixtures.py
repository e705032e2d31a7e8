#!/usr/bin/env python3
"""Fixtures that pin this engine's quantized-weight decoding to ggml's own definition, as the
`gguf` Python package (gguf-py, llama.cpp's reference reader) implements it:

- Tests/VLLMComputeTests/Fixtures/quant/<TYPE>-random.bin: random blocks of TYPE (every byte
  random except the fp16 scale fields, which are random finite halves from 1e-7 to 1, subnormals
  included, and MXFP4's E8M0 exponent byte, below 250 so that values stay finite) and gguf-py's
  `quants.dequantize` of them.
- <TYPE>-quantized.bin, for the types gguf-py can also quantize (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
  MXFP4):
  random floats (plus an all-zero block and a constant block) quantized by gguf-py, and the
  dequantized values of those bytes.
  Each file: b"VKQF", u32 ggml type id, u32 element count n, u32 byte count b, then b bytes of
  blocks, then n little-endian float32.
(The tiny models in every type, against llama.cpp: scripts/make-quant-teacher-fixtures.py.)

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

# Byte offsets of each block's fp16 scale fields (ggml-common.h block_* structs).
HALF_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0], "MXFP4": [],
}
# Byte offsets of E8M0 scale bytes (block_mxfp4.e): random exponents that keep values finite.
E8M0_FIELDS = {"MXFP4": [0]}
QUANTIZABLE = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4"]
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
        for o in E8M0_FIELDS.get(name, []):
            raw[:, o] = rng.integers(0, 250, nb, dtype=np.uint8)
        values = quants.dequantize(raw.reshape(-1), qtype)
        assert np.isfinite(values).all(), name
        write_case(KERNEL_OUT / f"{name}-random.bin", qtype, raw, values)
        if name in QUANTIZABLE:
            x = rng.normal(0, 1, ELEMENTS).astype(np.float32) * rng.choice([1e-3, 1.0, 30.0])
            x[:block_elems] = 0.0
            x[block_elems:2 * block_elems] = 0.5
            q = quants.quantize(x, qtype)
            write_case(KERNEL_OUT / f"{name}-quantized.bin", qtype, q, quants.dequantize(q, qtype))


if __name__ == "__main__":
    kernel_fixtures()
