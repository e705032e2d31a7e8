#!/usr/bin/env python3
"""Tests/Fixtures/tiny-models/gemma3/hf-multimodal: the tiny Gemma 3 (tiny-models/gemma3/hf) inside
a `Gemma3ForConditionalGeneration` checkpoint laid out as Google's Gemma 3 >= 4B releases are:
config.json with a sparse `text_config` (only the values that differ from `Gemma3TextConfig`'s
defaults, rope scaling as `rope_scaling`), a `vision_config`, and weights named
`language_model.model.*`, `vision_tower.vision_model.*`, `multi_modal_projector.*` (tied head,
no `lm_head`). The language model's weights are the tiny Gemma 3's; the vision tower (a tiny
SigLIP) and projector are random. The engine serves the text model and leaves the rest unread.

Checked here: transformers loads the directory as Gemma3ForConditionalGeneration and, on the
text prompts of tiny-models/gemma3/expected.json, gives that file's top-5 logprobs (1e-4).
Usage: python3 scripts/make-tiny-gemma3-multimodal.py   (torch, transformers, safetensors)
"""
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Gemma3Config, Gemma3ForCausalLM, Gemma3ForConditionalGeneration

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT / "Tests/Fixtures/tiny-models/gemma3/hf"
OUT = ROOT / "Tests/Fixtures/tiny-models/gemma3/hf-multimodal"

TEXT_CONFIG = {  # what differs from Gemma3TextConfig's defaults, as Google's files list it
    "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 6, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256,
    "query_pre_attn_scalar": 16, "sliding_window": 8, "vocab_size": 384,
    "rope_scaling": {"factor": 2.0, "rope_type": "linear"}, "model_type": "gemma3_text",
}
VISION_CONFIG = {
    "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
    "image_size": 28, "patch_size": 14, "model_type": "siglip_vision_model", "vision_use_head": False,
}
CONFIG = {
    "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
    "boi_token_index": 381, "eoi_token_index": 382, "image_token_index": 383, "mm_tokens_per_image": 4,
    "bos_token_id": 0, "eos_token_id": [2, 0], "pad_token_id": 0, "initializer_range": 0.02,
    "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
    "text_config": TEXT_CONFIG, "vision_config": VISION_CONFIG,
}
LEGACY = [("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
          ("model.multi_modal_projector.", "multi_modal_projector.")]


def main():
    torch.manual_seed(3)
    text = Gemma3ForCausalLM.from_pretrained(TEXT, dtype=torch.float32)
    config = Gemma3Config(text_config=TEXT_CONFIG, vision_config=VISION_CONFIG,
                          **{k: v for k, v in CONFIG.items() if k not in ("text_config", "vision_config", "architectures")})
    model = Gemma3ForConditionalGeneration(config).to(torch.float32)
    missing = model.model.language_model.load_state_dict(text.model.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys, missing

    weights = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to the embeddings
        for new, old in LEGACY:
            if name.startswith(new):
                name = old + name[len(new):]
        weights[name] = t.detach().to(torch.bfloat16).contiguous()
    OUT.mkdir(parents=True, exist_ok=True)
    save_file(weights, OUT / "model.safetensors", metadata={"format": "pt"})
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    for f in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"]:
        shutil.copy(TEXT / f, OUT / f)

    reloaded = Gemma3ForConditionalGeneration.from_pretrained(OUT, dtype=torch.float32).eval()
    expected = json.loads((TEXT.parent / "expected.json").read_text())
    worst = 0.0
    with torch.no_grad():
        for case in expected["cases"]:
            ids = torch.tensor([case["prompt"]])
            lp = torch.log_softmax(reloaded(input_ids=ids).logits[0].double(), dim=-1)
            for p, (top, want) in enumerate(zip(case["top5_ids"], case["top5_logprobs"])):
                worst = max(worst, max(abs(lp[p, i].item() - w) for i, w in zip(top, want)))
    print(f"wrote {OUT.relative_to(ROOT)}; transformers on it vs expected.json: worst top-5 gap {worst:.2e}")
    assert worst < 1e-4, worst


if __name__ == "__main__":
    main()
