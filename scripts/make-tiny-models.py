#!/usr/bin/env python3
"""Makes the tiny random reference models in Tests/Fixtures/tiny-models/ (one command; CI does
not run it). For each architecture: a Hugging Face checkpoint made with `transformers`
(save_pretrained, safetensors), the same model converted to GGUF by llama.cpp's own
convert_hf_to_gguf.py, and expected.json: transformers' float32 forward pass (eager attention)
on three prompts — top-5 logprobs at every position and an 8-token greedy continuation.

  pip install "torch==2.13.0+cpu" transformers tokenizers safetensors gguf
  python3 scripts/fetch-sdist.py llama-cpp-python 0.3.36 /tmp/lcp.tar.gz && tar xzf ... -C /tmp/lcp
  python3 scripts/make-tiny-models.py --llama-cpp /tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp

The tokenizer is a tiny byte-level BPE trained here; its pre-tokenizer is Llama 3's or Qwen2's
Split regex, and the converter (which identifies pre-tokenizers by hashing a fixed text) is told
that name directly.
"""
import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen3Config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/tiny-models"
VOCAB = 384
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TEXT = ("The quick brown fox jumps over the lazy dog. Paged attention keeps the KV cache in blocks; "
        "continuous batching schedules 123 requests at once, and 4567 tokens per second is fast. ") * 40


def train_tokenizer(split):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator([TEXT], trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p.shape[1] ** 0.5))


SPECS = {
    # name: (config, split, pre name for GGUF, dtype, shard size)
    "llama": (LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                          rms_norm_eps=1e-5, tie_word_embeddings=False,
                          rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 4.0,
                                           "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                           "original_max_position_embeddings": 32},
                          bos_token_id=0, eos_token_id=2),
              LLAMA3_SPLIT, "llama-bpe", torch.bfloat16, "60KB"),
    "mistral": (MistralConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                              rms_norm_eps=1e-5, sliding_window=8, tie_word_embeddings=False,
                              bos_token_id=0, eos_token_id=2),
                LLAMA3_SPLIT, "llama-bpe", torch.float16, None),
    "qwen2": (Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                          rms_norm_eps=1e-6, tie_word_embeddings=True,
                          rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                           "original_max_position_embeddings": 64},
                          bos_token_id=0, eos_token_id=2),
              QWEN2_SPLIT, "qwen2", torch.float32, None),
    "qwen3": (Qwen3Config(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                          rms_norm_eps=1e-6, tie_word_embeddings=False,
                          rope_parameters={"rope_type": "linear", "rope_theta": 1000000.0, "factor": 2.0},
                          bos_token_id=0, eos_token_id=2),
              QWEN2_SPLIT, "qwen2", torch.bfloat16, None),
}
GENERATION = {"qwen2": {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05}}
PROMPTS = [[5, 17, 42, 99, 200], list(range(30, 50)), [(i * 37 + 11) % (VOCAB - 3) + 3 for i in range(45)]]


def convert(hf_dir, out, outtype, pre, llama_cpp):
    sys.path[:0] = [str(llama_cpp / "gguf-py"), str(llama_cpp)]
    import convert_hf_to_gguf as conv
    from conversion import base
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
    sys.argv = ["convert_hf_to_gguf.py", str(hf_dir), "--outfile", str(out), "--outtype", outtype]
    conv.main()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", type=Path, required=True, help="llama.cpp source tree (convert_hf_to_gguf.py)")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for i, (name, (config, split, pre, dtype, shard)) in enumerate(SPECS.items()):
        if args.only and name not in args.only:
            continue
        d = OUT / name
        shutil.rmtree(d, ignore_errors=True)
        (d / "hf").mkdir(parents=True)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        randomize(model, 1000 + i)
        model = model.to(dtype)
        model.save_pretrained(d / "hf", max_shard_size=shard or "1GB")
        gen = dict(GENERATION.get(name, {}), bos_token_id=0, eos_token_id=[2, 1])
        (d / "hf/generation_config.json").write_text(json.dumps(gen, indent=2))
        train_tokenizer(split).save_pretrained(d / "hf")
        outtype = {torch.bfloat16: "bf16", torch.float16: "f16", torch.float32: "f32"}[dtype]
        convert(d / "hf", d / f"{name}.gguf", outtype, pre, args.llama_cpp)

        ref = AutoModelForCausalLM.from_pretrained(d / "hf", dtype=torch.float32, attn_implementation="eager").eval()
        cases = []
        with torch.no_grad():
            for prompt in PROMPTS:
                logits = ref(torch.tensor([prompt])).logits[0].float()
                lp = torch.log_softmax(logits, -1)
                top = torch.topk(lp, 5, -1)
                out = ref.generate(torch.tensor([prompt]), max_new_tokens=8, do_sample=False, min_new_tokens=8,
                                   output_scores=True, return_dict_in_generate=True, eos_token_id=None,
                                   pad_token_id=0, top_k=None, top_p=None, temperature=None, repetition_penalty=1.0)
                gen_tokens = out.sequences[0, len(prompt):].tolist()
                gen_lp = [round(torch.log_softmax(s[0].float(), -1)[t].item(), 6) for s, t in zip(out.scores, gen_tokens)]
                gaps = (top.values[:, 0] - top.values[:, 1]).min().item()
                cases.append({"prompt": prompt,
                              "top5_ids": top.indices.tolist(),
                              "top5_logprobs": [[round(v, 6) for v in row] for row in top.values.tolist()],
                              "greedy": gen_tokens, "greedy_logprobs": gen_lp, "min_top1_gap": round(gaps, 6)})
        (d / "expected.json").write_text(json.dumps({"architecture": config.architectures[0] if config.architectures else type(model).__name__,
                                                     "vocab_size": VOCAB, "cases": cases}, indent=1))
        print(name, "min top-1/top-2 gap", min(c["min_top1_gap"] for c in cases))


if __name__ == "__main__":
    main()
