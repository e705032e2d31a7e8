#!/usr/bin/env python3
"""Writes Tests/Fixtures/ggml-quants.json: blocks of each GGUF quantization type the engine reads
and their values as ggml defines them, computed by the `gguf` package (gguf-py, which follows
ggml-quants.c): rows of random floats quantized by gguf-py where it can quantize the type, else
random blocks with sane scales; then dequantized by gguf-py. Bytes and float32 values are
base64 (little-endian), so the comparison is bit for bit. One command; CI does not run it.

  pip install gguf numpy
  python3 scripts/make-quant-fixtures.py
"""
import base64
import json
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

OUT = Path(__file__).resolve().parent.parent / "Tests/Fixtures/ggml-quants.json"
ROWS, COLS = 3, 512


def random_blocks(t, rng):
    """Random block bytes whose fp16 scales are small positive numbers (no inf/NaN)."""
    block, size = GGML_QUANT_SIZES[t]
    n = ROWS * COLS // block
    raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    scale = lambda lo, hi: np.frombuffer(rng.uniform(lo, hi, n).astype(np.float16).tobytes(), dtype=np.uint8).reshape(n, 2)
    if t in (T.Q4_K, T.Q5_K):
        raw[:, 0:2], raw[:, 2:4] = scale(5e-4, 1e-2), scale(5e-4, 1e-2)
    elif t == T.Q6_K:
        raw[:, 208:210] = scale(1e-4, 2e-3)
    elif t == T.Q2_K:
        raw[:, 80:82], raw[:, 82:84] = scale(5e-4, 1e-2), scale(5e-4, 1e-2)
    elif t == T.Q3_K:
        raw[:, 108:110] = scale(1e-4, 2e-3)
    elif t in (T.IQ4_NL, T.IQ4_XS):
        raw[:, 0:2] = scale(1e-4, 2e-3)
    return raw.reshape(ROWS, -1)


def main():
    rng = np.random.default_rng(20261205)
    out = {}
    for t in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS):
        try:
            blocks = quantize(rng.standard_normal((ROWS, COLS)).astype(np.float32) * 0.05, t)
            source = "gguf-py quantize"
        except NotImplementedError:
            blocks = random_blocks(t, rng)
            source = "random blocks"
        values = dequantize(blocks, t).astype(np.float32)
        assert values.shape == (ROWS, COLS) and np.isfinite(values).all()
        out[t.name] = {"id": int(t), "source": source, "elements": ROWS * COLS,
                       "bytes": base64.b64encode(np.ascontiguousarray(blocks).tobytes()).decode(),
                       "values": base64.b64encode(values.astype("<f4").tobytes()).decode()}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
