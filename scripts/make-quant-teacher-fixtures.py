#!/usr/bin/env python3
"""A tiny Llama stored in every GGUF type this engine reads, quantized by llama.cpp's own
llama-quantize, and llama.cpp's teacher-forced log-probabilities for each file
(QuantizedTinyModelTests checks this engine against them).

- The model: random weights (fixed seed), 256-wide rows (the K-quants and IQ4_XS need whole
  256-element blocks), one layer, 4 query / 2 KV heads of 64, FFN 256, the tiny Llama's 384-token
  vocabulary. The output head is scaled so logits spread over a few nats: a near-uniform model
  would hide errors, a very sharp one would put the top-5 tail at -30 nats, where activation
  rounding alone moves values by more than the tolerance. (Untied: with tied embeddings the
  residual's own token embedding dominates the logits.)
- Tests/Fixtures/tiny-models/llama/quant/llama256-<type>.gguf: `llama-quantize --pure` of that
  model to each type (every 2-D tensor, token embeddings included, in the one type).
- Tests/Fixtures/tiny-models/llama/quant/teacher.json: the token ids, and per type and position
  llama.cpp's five most likely next tokens and their log-softmax values (one batch, 2 threads;
  scripts/llama-teacher-logprobs.cpp).

Needs `pip install gguf numpy` and the llama.cpp build of scripts/build-llama-server.sh (made on
demand). Usage: python3 scripts/make-quant-teacher-fixtures.py
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import gguf

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "Tests/Fixtures/tiny-models/llama/llama.gguf"
OUT = ROOT / "Tests/Fixtures/tiny-models/llama/quant"
TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
         "IQ4_NL", "IQ4_XS"]
# llama-quantize's names for the ftypes whose --pure type is the one wanted.
FTYPE = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}
HIDDEN, FFN, HEADS, KV_HEADS, HEAD_DIM = 256, 256, 4, 2, 64


def llama_tools():
    quantize = subprocess.run([str(ROOT / "scripts/build-llama-server.sh"), "llama-quantize"],
                              check=True, capture_output=True, text=True).stdout.split()[-1]
    build = Path(quantize).parent.parent
    src = build.parent / f"llama_cpp_python-{os.environ.get('LLAMA_CPP_PYTHON_VERSION', '0.3.36')}/vendor/llama.cpp"
    teacher = build / "bin/llama-teacher-logprobs"
    libs = [build / "src/libllama.a"] + [build / f"ggml/src/lib{n}.a" for n in ["ggml", "ggml-cpu", "ggml-base"]]
    subprocess.run(["g++", "-O2", "-std=c++17", f"-I{src}/include", f"-I{src}/ggml/include",
                    str(ROOT / "scripts/llama-teacher-logprobs.cpp"), *map(str, libs),
                    "-fopenmp", "-lpthread", "-o", str(teacher)], check=True)
    return quantize, str(teacher)


def write_f32_model(path):
    reader = gguf.GGUFReader(SOURCE)
    w = gguf.GGUFWriter(path, "llama")
    for key, field in reader.fields.items():
        if key.startswith(("GGUF.", "llama.", "general.")):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), vtype, sub_type=sub)
    w.add_name("tiny-llama-256")
    w.add_block_count(1)
    w.add_context_length(256)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(384)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    rng = np.random.default_rng(256)
    def dense(rows, cols):  # unit-variance outputs from unit-variance inputs
        return (rng.normal(0, 1, (rows, cols)) / np.sqrt(cols)).astype(np.float32)
    def norm(n, scale):
        return (scale * (1 + 0.1 * rng.normal(0, 1, n))).astype(np.float32)
    w.add_tensor("token_embd.weight", rng.normal(0, 1, (384, HIDDEN)).astype(np.float32))
    w.add_tensor("blk.0.attn_norm.weight", norm(HIDDEN, 1.0))
    w.add_tensor("blk.0.attn_q.weight", dense(HEADS * HEAD_DIM, HIDDEN))
    w.add_tensor("blk.0.attn_k.weight", dense(KV_HEADS * HEAD_DIM, HIDDEN))
    w.add_tensor("blk.0.attn_v.weight", dense(KV_HEADS * HEAD_DIM, HIDDEN))
    w.add_tensor("blk.0.attn_output.weight", dense(HIDDEN, HEADS * HEAD_DIM))
    w.add_tensor("blk.0.ffn_norm.weight", norm(HIDDEN, 1.0))
    w.add_tensor("blk.0.ffn_gate.weight", dense(FFN, HIDDEN))
    w.add_tensor("blk.0.ffn_up.weight", dense(FFN, HIDDEN))
    w.add_tensor("blk.0.ffn_down.weight", dense(HIDDEN, FFN))
    w.add_tensor("output_norm.weight", norm(HIDDEN, 1.0))
    w.add_tensor("output.weight", (0.06 * rng.normal(0, 1, (384, HIDDEN))).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    quantize, teacher = llama_tools()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    tokens = [0] + [int(t) for t in rng.integers(3, 384, 47)]
    result = {"tokens": tokens, "types": {}}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "llama256-f32.gguf"
        write_f32_model(source)
        for name in TYPES:
            out = OUT / f"llama256-{name.lower()}.gguf"
            subprocess.run([quantize, "--pure", str(source), str(out), FTYPE.get(name, name), "2"],
                           check=True, capture_output=True)
            rows = subprocess.run([teacher, str(out), "2", ",".join(map(str, tokens))],
                                  check=True, capture_output=True, text=True).stdout
            result["types"][name] = json.loads(rows)
            print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
    (OUT / "teacher.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
