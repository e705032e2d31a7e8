#!/usr/bin/env python3
"""Makes Tests/Fixtures/torch-tensors/: files written by the real `torch.save`, for the
restricted reader of vLLM's `prompt_embeds` (one command; CI does not run it).

  good/*.pt      plain dense float tensors (float32, float16, bfloat16; a transposed view and a
                 view with a storage offset, saved with their whole storage), and expected.json
                 with each one's shape and values in row-major order
  refused/*.pt   what the reader must refuse: an int64 tensor, a dict of tensors, an object whose
                 unpickling would call os.system, a tensor with requires_grad hooks state, and a
                 deflate-compressed archive
  qwen2-prompt.json  a prompt of the tiny Qwen2 fixture model and base64 of `torch.save` of its
                 input embeddings (model.get_input_embeddings()(ids), float32), for the server test

  pip install "torch==2.13.0+cpu" transformers
  python3 scripts/make-torch-tensor-fixtures.py
"""
import base64
import io
import json
import os
import zipfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/torch-tensors"


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    (OUT / "good").mkdir(parents=True, exist_ok=True)
    (OUT / "refused").mkdir(parents=True, exist_ok=True)
    base = torch.arange(24, dtype=torch.float32) / 8 - 1.5
    good = {
        "f32_2x3": base[:6].reshape(2, 3).clone(),
        "f16_3x4": (base[:12].reshape(3, 4) * 3).to(torch.float16),
        "bf16_1x4x5": (base[:20].reshape(1, 4, 5) * 7).to(torch.bfloat16),
        "transposed_4x3": base[:12].reshape(3, 4).t(),
        "offset_2x2": base[10:14].reshape(2, 2),
        "vector_5": base[:5].clone(),
    }
    expected = {}
    for name, t in good.items():
        torch.save(t, OUT / "good" / f"{name}.pt")
        expected[name] = {"shape": list(t.shape), "values": [float(v) for v in t.float().contiguous().flatten()]}
    (OUT / "good/expected.json").write_text(json.dumps(expected, indent=1) + "\n")

    torch.save(torch.arange(4), OUT / "refused/int64.pt")
    torch.save({"a": base[:4].clone()}, OUT / "refused/dict.pt")
    torch.save(Evil(), OUT / "refused/system.pt")
    torch.save([base[:2].clone(), base[2:4].clone()], OUT / "refused/list.pt")
    buf = io.BytesIO()
    torch.save(base[:6].reshape(2, 3).clone(), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(OUT / "refused/deflated.pt", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(ROOT / "Tests/Fixtures/tiny-models/qwen2/hf", dtype=torch.float32)
    ids = [5, 17, 42, 99, 3, 250, 7, 31, 64]
    with torch.no_grad():
        embeds = model.get_input_embeddings()(torch.tensor(ids))
    buf = io.BytesIO()
    torch.save(embeds, buf)
    (OUT / "qwen2-prompt.json").write_text(json.dumps(
        {"prompt_token_ids": ids, "prompt_embeds": base64.b64encode(buf.getvalue()).decode()}) + "\n")


if __name__ == "__main__":
    main()
