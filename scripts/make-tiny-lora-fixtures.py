#!/usr/bin/env python3
"""Tests/Fixtures/tiny-models/phi3/lora: a PEFT LoRA adapter on the tiny Phi-3's fused modules
(`qkv_proj`, `gate_up_proj`, plus `o_proj` and `down_proj`), saved by PEFT itself, and
`expected.json`: transformers + PEFT's float32 top-5 logprobs with the adapter applied, on one
40-token prompt (past the original context of 32, so LongRoPE's long factors, as the engine
picks them for the model's full context).

Random A and B (PEFT's `init_lora_weights=False`, B scaled by 0.1 so that the adapter moves the
logits clearly without swamping the tiny weights), fixed seed.
Usage: python3 scripts/make-tiny-lora-fixtures.py   (torch, transformers, peft, safetensors)
"""
import json
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "Tests/Fixtures/tiny-models/phi3/hf"
OUT = ROOT / "Tests/Fixtures/tiny-models/phi3/lora"


def main():
    torch.manual_seed(11)
    base = AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["qkv_proj", "gate_up_proj", "o_proj", "down_proj"],
                        init_lora_weights=False, lora_dropout=0.0, bias="none")
    model = get_peft_model(base, config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.mul_(0.1)
    model.save_pretrained(OUT, safe_serialization=True)
    (OUT / "README.md").unlink()  # PEFT's model card template
    cfg = json.loads((OUT / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "tiny-models/phi3/hf"  # not this machine's path
    (OUT / "adapter_config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

    prompt = [int(t) for t in torch.randint(3, 384, (40,), generator=torch.Generator().manual_seed(5))]
    with torch.no_grad():
        adapted = torch.log_softmax(model(input_ids=torch.tensor([prompt])).logits[0].double(), dim=-1)
        with model.disable_adapter():
            plain = torch.log_softmax(model(input_ids=torch.tensor([prompt])).logits[0].double(), dim=-1)
    top = adapted.topk(5, dim=-1)
    moved = (adapted - plain).abs().max().item()
    (OUT / "expected.json").write_text(json.dumps({
        "prompt": prompt, "top5_ids": top.indices.tolist(), "top5_logprobs": top.values.tolist(),
        "max_logprob_change_from_base": moved,
    }) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}; the adapter moves logprobs by up to {moved:.3f}")


if __name__ == "__main__":
    main()
