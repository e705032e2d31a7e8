#!/usr/bin/env python3
"""Makes the tiny random reference models in Tests/Fixtures/tiny-models/ (one command; CI does
not run it). For each architecture (llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3, mixtral,
qwen2_moe, qwen3_moe, gpt_oss, and gpt_oss_mxfp4 with MXFP4 experts):

  <arch>/hf/          a Hugging Face checkpoint written by `transformers` (save_pretrained,
                      safetensors) with a tiny byte-level BPE tokenizer trained here,
                      tokenizer_config.json / chat template and generation_config.json
  <arch>/<arch>.gguf  the same model converted by llama.cpp's own convert_hf_to_gguf.py
  <arch>/expected.json  transformers' float32 forward pass (eager attention) on three prompts:
                      top-5 (id, logprob) at every position and an 8-token greedy continuation

  pip install "torch==2.13.0+cpu" transformers tokenizers safetensors gguf numpy
  python3 scripts/make-tiny-models.py            # fetches llama-cpp-python's sdist into /tmp
  python3 scripts/make-tiny-models.py --llama-cpp /path/to/llama.cpp --only qwen3

llama.cpp's converter is run unmodified in a child process. It names a BPE pre-tokenizer by
hashing how the tokenizer splits a fixed text, which no tiny tokenizer matches; the tokenizers
here are trained with exactly Llama 3's or Qwen2's Split regex, and the child replaces
`get_vocab_base_pre` with a function returning that regex's llama.cpp name ("llama-bpe" or
"qwen2").

llama and mistral are written as transformers 4.x wrote them (config.json with `rope_theta` /
`rope_scaling` and `torch_dtype`, chat template inside tokenizer_config.json); qwen2 and qwen3 as
transformers 5 writes them (`rope_parameters`, `dtype`, `layer_types`, chat_template.jinja).
transformers reads both; the script checks the reloaded model computes what it saved.

Weights are random (seeded) and deliberately large, every norm weight is random around 1, and
Qwen2's q/k/v biases are random, so that a missing feature changes the logits visibly. For each
architecture the first seed whose greedy continuations are clear (top-1 ahead of top-2 by at least
MIN_GREEDY_GAP at every step, no special token) is kept.
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (AutoModelForCausalLM, Gemma2Config, Gemma3TextConfig, GenerationConfig, GptOssConfig, LlamaConfig,
                          MistralConfig, MixtralConfig, Phi3Config, PreTrainedTokenizerFast, Qwen2Config, Qwen2MoeConfig,
                          Qwen3Config, Qwen3MoeConfig)

from gguf_convert import LLAMA3_SPLIT, LLAMA_CPP_PYTHON, PRE_NAME, QWEN2_SPLIT, convert, fetch_llama_cpp

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/tiny-models"
VOCAB = 384
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2
MIN_GREEDY_GAP = 0.02

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

CORPUS = """The quick brown fox jumps over the lazy dog. The dog didn't mind; it's used to foxes.
Paged attention keeps the KV cache in fixed-size blocks, so memory isn't wasted on padding.
Continuous batching schedules 128 requests at once, and 4567 tokens per second is fast enough.
def forward(self, input_ids, positions):
    hidden = self.embed_tokens(input_ids)
    for layer in self.layers:
        hidden = layer(positions, hidden)
    return self.norm(hidden)
Prices rose 3.5% in 2024: from $19.99 to $20.69 (about 70 cents).
She said, "We'll see." He replied: "You're right, I'd rather wait."
Rotary embeddings rotate pairs of query and key dimensions by an angle that grows with position.
Sliding-window attention lets each token see only the last few tokens before it.
Café, naïve, résumé, über, Straße; 日本語のテキスト; emojis 🚀🦙 too.
JSON: {"model": "tiny", "layers": 3, "heads": [4, 2], "ok": true}
<html><body><p>Hello, world!</p></body></html>
1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 1000, 10000, 123456789
The scheduler preempts a sequence when blocks run out, then recomputes it later.
Greedy decoding picks the most likely token; sampling draws from the distribution instead.
Temperature, top-p and top-k reshape the distribution before a token is drawn.
"""

# Prompts: 5-6, 20 and 47 tokens (more than the sliding window and the rope scalings' original
# context of 32), with digits (split 1-3 at a time by Llama 3's regex, one by Qwen2's), a
# contraction and a newline.
PROMPT_TEXTS = [
    "Hi there!",
    "The KV cache holds 128 tokens.",
    "In 2024, rotary embeddings rotate pairs by angles that grow.\nWe'll see.",
]


def tokenizer_for(split, add_bos):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    if add_bos:  # as Llama 3's tokenizer.json adds <|begin_of_text|>
        tok.post_processor = processors.TemplateProcessing(
            single="<|endoftext|> $A", pair="<|endoftext|> $A <|endoftext|> $B", special_tokens=[("<|endoftext|>", 0)])
    else:
        tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.train_from_iterator(CORPUS.splitlines(keepends=True) * 3, trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIALS[0], eos_token=SPECIALS[2],
                                   pad_token=SPECIALS[0])
    fast.chat_template = CHATML
    return fast


def common(**kw):
    return dict(vocab_size=VOCAB, max_position_embeddings=256, num_attention_heads=4, num_key_value_heads=2,
                bos_token_id=0, eos_token_id=2, **kw)


SPECS = {
    "llama": dict(
        config=lambda: LlamaConfig(**common(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, rms_norm_eps=1e-5, tie_word_embeddings=False,
            rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 4.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
        split=LLAMA3_SPLIT, add_bos=True, dtype=torch.bfloat16, shard="100KB", legacy=True,
        generation={"do_sample": True, "temperature": 0.6, "top_p": 0.9}),
    "mistral": dict(
        config=lambda: MistralConfig(**common(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, rms_norm_eps=1e-5, sliding_window=8,
            tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
        split=LLAMA3_SPLIT, add_bos=False, dtype=torch.float16, shard=None, legacy=True,
        generation={}),
    "qwen2": dict(
        config=lambda: Qwen2Config(**common(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, rms_norm_eps=1e-6, tie_word_embeddings=True,
            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 8.0,
                             "original_max_position_embeddings": 32})),
        split=QWEN2_SPLIT, add_bos=False, dtype=torch.float32, shard=None, legacy=False,
        generation={"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05}),
    # Linear scaling, not "dynamic": transformers' dynamic NTK changes the base only once a
    # sequence outgrows max_position_embeddings (vLLM uses one fixed enlarged base), and
    # llama.cpp's converter writes nothing for it, so neither form could match this reference.
    "qwen3": dict(
        config=lambda: Qwen3Config(**common(
            hidden_size=48, intermediate_size=96, num_hidden_layers=2, head_dim=16, rms_norm_eps=1e-6,
            tie_word_embeddings=False, rope_parameters={"rope_type": "linear", "rope_theta": 1000000.0, "factor": 2.0})),
        split=QWEN2_SPLIT, add_bos=False, dtype=torch.bfloat16, shard=None, legacy=False,
        generation={"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20}),
    # Soft-caps small enough to bend the random model's scores and logits; a window shorter than
    # the prompts on the even layers. query_pre_attn_scalar is the head size, as in the 2B/9B
    # models (GGUF files do not carry it; llama.cpp assumes that).
    "gemma2": dict(
        config=lambda: Gemma2Config(**common(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, head_dim=16, rms_norm_eps=1e-6,
            query_pre_attn_scalar=16, sliding_window=8, attn_logit_softcapping=2.0, final_logit_softcapping=4.0,
            pad_token_id=0, tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
        split=LLAMA3_SPLIT, add_bos=True, dtype=torch.bfloat16, shard=None, legacy=False, norm_center=0.0,
        generation={}),
    # Five local layers (window 8, base 10k) to one global (base 1M, linear scaling).
    "gemma3": dict(
        config=lambda: Gemma3TextConfig(**common(
            hidden_size=48, intermediate_size=96, num_hidden_layers=6, head_dim=16, rms_norm_eps=1e-6,
            query_pre_attn_scalar=16, sliding_window=8, pad_token_id=0, tie_word_embeddings=True,
            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})),
        split=LLAMA3_SPLIT, add_bos=True, dtype=torch.bfloat16, shard=None, legacy=False, norm_center=0.0,
        generation={"do_sample": True, "top_k": 64, "top_p": 0.95}),
    # LongRoPE over half of each head (partial rotary, as Phi-4-mini): transformers switches to
    # the long factors for a sequence longer than the original context of 32, so the third
    # prompt (47 tokens) is computed with them and the others with the short ones.
    "phi3": dict(
        config=lambda: Phi3Config(**common(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, rms_norm_eps=1e-5, pad_token_id=0,
            tie_word_embeddings=False, original_max_position_embeddings=32, rope_parameters={
                "rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
                "original_max_position_embeddings": 32,
                "short_factor": [1.0, 1.3, 1.9, 2.6], "long_factor": [1.0, 2.5, 5.0, 9.0]})),
        split=LLAMA3_SPLIT, add_bos=False, dtype=torch.bfloat16, shard=None, legacy=False,
        tokenizer_class="GPT2Tokenizer", generation={}),
    # Mixture of experts: four experts, two per token (Mixtral renormalizes the chosen two;
    # Qwen3-MoE with norm_topk_prob as its released models set it, which llama.cpp assumes).
    "mixtral": dict(
        config=lambda: MixtralConfig(**common(
            hidden_size=64, intermediate_size=96, num_hidden_layers=2, rms_norm_eps=1e-5, tie_word_embeddings=False,
            num_local_experts=4, num_experts_per_tok=2, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
        split=LLAMA3_SPLIT, add_bos=True, dtype=torch.bfloat16, shard=None, legacy=False, generation={}),
    "qwen3_moe": dict(
        config=lambda: Qwen3MoeConfig(**common(
            hidden_size=48, intermediate_size=96, moe_intermediate_size=64, num_hidden_layers=2, head_dim=16,
            rms_norm_eps=1e-6, tie_word_embeddings=False, num_experts=4, num_experts_per_tok=2, norm_topk_prob=True,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
        split=QWEN2_SPLIT, add_bos=False, dtype=torch.bfloat16, shard=None, legacy=False, generation={}),
    # Qwen2-MoE: the chosen experts keep their softmax probabilities (norm_topk_prob off, as
    # released), plus a shared expert scaled by a sigmoid gate; Q/K/V biases.
    "qwen2_moe": dict(
        config=lambda: Qwen2MoeConfig(**common(
            hidden_size=64, intermediate_size=96, moe_intermediate_size=32, shared_expert_intermediate_size=48,
            num_hidden_layers=2, rms_norm_eps=1e-6, tie_word_embeddings=False, num_experts=4, num_experts_per_tok=2,
            norm_topk_prob=False, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
        split=QWEN2_SPLIT, add_bos=False, dtype=torch.bfloat16, shard=None, legacy=False, generation={}),
}
# gpt-oss: sinks, biases everywhere, a window of 8 on the even layers, YaRN (not truncated, as
# released) and the clamped SwiGLU at gpt-oss's limit of 7 (llama.cpp fixes it there), with the
# expert matrices scaled up so that the clamp bites (checked); a context of 4096, room for the
# harmony system prompt and tools when the server tests serve it. gpt_oss_mxfp4 is the
# same model with its experts rounded to MXFP4 and saved as OpenAI released gpt-oss (*_blocks /
# *_scales); its reference is transformers on the rounded weights.
GPT_OSS = lambda: GptOssConfig(**dict(common(
    hidden_size=64, intermediate_size=64, num_hidden_layers=2, head_dim=16, rms_norm_eps=1e-5, sliding_window=8,
    tie_word_embeddings=False, num_local_experts=4, num_experts_per_tok=2, swiglu_limit=7.0,
    rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 8.0, "beta_fast": 32.0, "beta_slow": 1.0,
                     "truncate": False, "original_max_position_embeddings": 32}), max_position_embeddings=4096))
SPECS["gpt_oss"] = dict(config=GPT_OSS, split=QWEN2_SPLIT, add_bos=False, dtype=torch.float32, shard=None, legacy=False,
                        generation={})
SPECS["gpt_oss_mxfp4"] = dict(config=GPT_OSS, split=QWEN2_SPLIT, add_bos=False, dtype=torch.float32, shard=None,
                              legacy=False, generation={}, mxfp4=True)

# FP4 E2M1 values by code (sign in bit 3), as the OCP MX spec and OpenAI's checkpoints use.
FP4 = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])


def mxfp4_quantize(w):
    """w [..., out, in] (in a multiple of 32) to OpenAI's MXFP4 tensors: blocks [..., out, in/32, 16]
    uint8 (element 2k in the low nibble of byte k) and scales [..., out, in/32] uint8 (E8M0, bias 127),
    plus the values they stand for. The shared exponent is floor(log2(amax)) - 2 (E2M1's largest
    exponent), each element rounded to the nearest code."""
    b = w.float().reshape(*w.shape[:-1], -1, 32)
    amax = b.abs().amax(-1, keepdim=True).clamp(min=2.0 ** -100)
    exp = torch.floor(torch.log2(amax)) - 2
    codes = (b / 2.0 ** exp).unsqueeze(-1).sub(FP4).abs().argmin(-1).to(torch.uint8)
    values = FP4[codes.long()] * 2.0 ** exp
    blocks = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return blocks, (exp.squeeze(-1) + 127).to(torch.uint8), values.reshape(w.shape)


def round_experts_to_mxfp4(model):
    """Sets every expert matrix to its MXFP4 rounding (transformers holds them [in, out])."""
    with torch.no_grad():
        for layer in model.model.layers:
            ex = layer.mlp.experts
            for p in (ex.gate_up_proj, ex.down_proj):
                p.copy_(mxfp4_quantize(p.transpose(1, 2))[2].transpose(1, 2))


def assert_clamp_bites(model, prompt):
    """The SwiGLU limit changes the logits (so a missing clamp would show)."""
    with torch.no_grad():
        clamped = model(torch.tensor([prompt])).logits
        for layer in model.model.layers:
            layer.mlp.experts.limit = 1e9
        free = model(torch.tensor([prompt])).logits
        for layer in model.model.layers:
            layer.mlp.experts.limit = model.config.swiglu_limit
    assert (clamped - free).abs().max() > 0.1, "the SwiGLU clamp never bites"


def save_as_mxfp4(hf, model):
    """Rewrites the saved checkpoint's expert matrices as OpenAI's MXFP4 tensors and marks
    config.json as gpt-oss's is (quantization_config)."""
    from safetensors.torch import load_file, save_file
    path = hf / "model.safetensors"
    tensors = load_file(path)
    for i, layer in enumerate(model.model.layers):
        for name in ("gate_up_proj", "down_proj"):
            key = f"model.layers.{i}.mlp.experts.{name}"
            blocks, scales, values = mxfp4_quantize(tensors.pop(key).transpose(1, 2))
            assert torch.equal(values.transpose(1, 2), getattr(layer.mlp.experts, name).float())
            tensors[key + "_blocks"], tensors[key + "_scales"] = blocks.contiguous(), scales.contiguous()
    save_file(tensors, path, metadata={"format": "pt"})
    c = json.loads((hf / "config.json").read_text())
    c["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": [
        "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    (hf / "config.json").write_text(json.dumps(c, indent=2) + "\n")


DTYPE_NAME = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32"}
OUTTYPE = {torch.bfloat16: "bf16", torch.float16: "f16", torch.float32: "f32"}


def randomize(model, seed, norm_center=1.0):
    """norm_center 0 for Gemma, whose checkpoints store norm weights as offsets from 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:   # RMSNorm weights (incl. Qwen3's q_norm/k_norm)
                p.copy_(norm_center + 0.3 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:                      # biases (Qwen2's q/k/v)
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "lm_head" in name or "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (2.5 / p.shape[-1] ** 0.5))
            else:  # matrices, and transformers 5's stacked [expert, out, in] expert weights
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p.shape[-1] ** 0.5))


def write_legacy_config(hf):
    """config.json as transformers 4.x wrote it: rope_theta and rope_scaling at the top level,
    torch_dtype, no layer_types."""
    path = hf / "config.json"
    c = json.loads(path.read_text())
    rope = c.pop("rope_parameters")
    c["rope_theta"] = rope.pop("rope_theta")
    c["rope_scaling"] = None if rope.get("rope_type", "default") == "default" else rope
    c["torch_dtype"] = c.pop("dtype")
    c.pop("layer_types", None)
    c["transformers_version"] = "4.46.0"
    path.write_text(json.dumps(dict(sorted(c.items())), indent=2) + "\n")


def generate_case(ref, prompt):
    ids = torch.tensor([prompt])
    with torch.no_grad():
        lp = torch.log_softmax(ref(ids).logits[0].float(), -1)
        top = torch.topk(lp, 5, -1)
        out = ref.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=8,
                           output_logits=True, return_dict_in_generate=True)
        greedy = out.sequences[0, len(prompt):].tolist()
        assert len(greedy) == 8
        steps = [torch.log_softmax(l[0].float(), -1) for l in out.logits]
        # The cached decode agrees with one full forward pass over prompt + continuation.
        full = torch.log_softmax(ref(out.sequences).logits[0].float(), -1)[len(prompt) - 1:-1]
    for i, (s, t) in enumerate(zip(steps, greedy)):
        assert s.argmax().item() == t, "generate did not pick the argmax of the raw logits"
        assert abs(full[i, t].item() - s[t].item()) < 1e-4
    gaps = lambda rows: min((v[0] - v[1]).item() for v in (torch.topk(r, 2).values for r in rows))
    return {
        "prompt": prompt,
        "top5_ids": top.indices.tolist(),
        "top5_logprobs": [[round(v, 6) for v in row] for row in top.values.tolist()],
        "greedy": greedy,
        "greedy_logprobs": [round(s[t].item(), 6) for s, t in zip(steps, greedy)],
        "min_top1_gap_prompt": round(gaps(lp), 6),
        "min_top1_gap_greedy": round(gaps(steps), 6),
    }


GEMMA_NORM_NAMES = [("post_attention_layernorm.", "post_attention_norm."), ("pre_feedforward_layernorm.", "ffn_norm."),
                    ("post_feedforward_layernorm.", "post_ffw_norm.")]
GGUF_NAMES = [("mlp.gate.weight", "ffn_gate_inp.weight"), ("mlp.experts.down_proj", "ffn_down_exps.weight"),
              ("mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight"), ("mlp.shared_expert.gate_proj.", "ffn_gate_shexp."),
              ("mlp.shared_expert.up_proj.", "ffn_up_shexp."), ("mlp.shared_expert.down_proj.", "ffn_down_shexp."),
              ("model.embed_tokens.", "token_embd."), ("lm_head.", "output."), ("model.norm.", "output_norm."),
              ("model.layers.", "blk."), ("input_layernorm.", "attn_norm."), ("post_attention_layernorm.", "ffn_norm."),
              ("self_attn.qkv_proj.", "attn_qkv."), ("mlp.gate_up_proj.", "ffn_up."),
              ("self_attn.o_proj.", "attn_output."), ("self_attn.q_norm.", "attn_q_norm."),
              ("self_attn.k_norm.", "attn_k_norm."), ("self_attn.q_proj.", "attn_q."), ("self_attn.k_proj.", "attn_k."),
              ("self_attn.v_proj.", "attn_v."), ("mlp.gate_proj.", "ffn_gate."), ("mlp.up_proj.", "ffn_up."),
              ("mlp.down_proj.", "ffn_down.")]


def gguf_summary(llama_cpp, path, model):
    """The GGUF's scalar metadata, after checking that every tensor holds exactly the checkpoint's
    values, with q/k rows either as they are or in llama.cpp's rope permutation (which is reported),
    and that a rope_freqs tensor holds transformers' per-frequency llama3 factors."""
    sys.path.insert(0, str(llama_cpp / "gguf-py"))
    from gguf import GGUFReader, GGUFValueType
    from gguf.quants import dequantize
    r = GGUFReader(str(path))
    meta = {}
    for f in r.fields.values():
        if f.name.startswith("tokenizer.ggml.") and f.types[0] == GGUFValueType.ARRAY:
            meta[f.name] = f"[{len(f.data)} entries]"
        elif not f.name.startswith("GGUF."):
            v = f.contents()
            meta[f.name] = round(v, 6) if isinstance(v, float) else v
    tensors = {t.name: torch.from_numpy(np.array(dequantize(t.data, t.tensor_type), dtype=np.float32))
               for t in r.tensors}
    types = {t.name: t.tensor_type.name for t in r.tensors}
    cfg = model.config
    gemma = cfg.model_type.startswith("gemma")
    permuted = set()
    for hf_name, w in model.state_dict().items():
        if "rotary_emb" in hf_name or (hf_name == "lm_head.weight" and cfg.tie_word_embeddings):
            continue
        if cfg.model_type == "gpt_oss" and ".mlp." in hf_name:  # experts [expert, in, out], gate/up interleaved
            blk = "blk." + hf_name.split(".")[2] + "."
            parts = {"router.weight": lambda: [("ffn_gate_inp.weight", w)],
                     "router.bias": lambda: [("ffn_gate_inp.bias", w)],
                     "experts.gate_up_proj": lambda: [("ffn_gate_exps.weight", w[..., 0::2].transpose(1, 2)),
                                                      ("ffn_up_exps.weight", w[..., 1::2].transpose(1, 2))],
                     "experts.gate_up_proj_bias": lambda: [("ffn_gate_exps.bias", w[..., 0::2]), ("ffn_up_exps.bias", w[..., 1::2])],
                     "experts.down_proj": lambda: [("ffn_down_exps.weight", w.transpose(1, 2))],
                     "experts.down_proj_bias": lambda: [("ffn_down_exps.bias", w)]}[hf_name.split(".mlp.")[1]]()
            for g_name, want in parts:
                got = tensors.pop(blk + g_name)
                assert torch.equal(got.reshape(want.shape), want.float()), f"{blk + g_name} differs from {hf_name}"
            continue
        g_name = hf_name.replace("self_attn.sinks", "attn_sinks.weight")
        if cfg.model_type == "gpt_oss":
            g_name = g_name.replace("post_attention_layernorm.", "post_attention_norm.")
        for a, b in (GEMMA_NORM_NAMES if gemma else []) + GGUF_NAMES:
            g_name = g_name.replace(a, b)
        if gemma and g_name.endswith("norm.weight"):  # the converter stores Gemma's 1 + w
            w = w.float() + 1
        if g_name.endswith("mlp.experts.gate_up_proj"):  # stacked [expert, gate rows + up rows, in]
            f = w.shape[1] // 2
            for half, part in (("gate", w[:, :f]), ("up", w[:, f:])):
                got = tensors.pop(g_name.replace("mlp.experts.gate_up_proj", f"ffn_{half}_exps.weight"))
                assert torch.equal(got.reshape(part.shape), part.float()), f"{g_name} {half} differs"
            continue
        g = tensors.pop(g_name).reshape(w.shape)
        if not torch.equal(g, w.float()):
            heads = cfg.num_attention_heads if ".attn_q." in g_name else cfg.num_key_value_heads
            assert ".attn_q." in g_name or ".attn_k." in g_name, f"{g_name} differs from {hf_name}"
            unpermuted = g.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)
            assert torch.equal(unpermuted, w.float()), f"{g_name} is neither {hf_name} nor its rope permutation"
            permuted.add(g_name.split(".")[-2])
    if "rope_freqs.weight" in tensors:
        d, theta = cfg.head_dim, cfg.rope_parameters["rope_theta"]
        plain = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
        factors = plain / model.model.rotary_emb.inv_freq.float()
        assert torch.allclose(tensors.pop("rope_freqs.weight"), factors, rtol=1e-5), "rope_freqs differ from transformers"
    if "rope_factors_long.weight" in tensors:
        rp = cfg.rope_parameters
        assert torch.equal(tensors.pop("rope_factors_long.weight"), torch.tensor(rp["long_factor"]))
        assert torch.equal(tensors.pop("rope_factors_short.weight"), torch.tensor(rp["short_factor"]))
    assert not tensors, f"tensors without a checkpoint counterpart: {sorted(tensors)}"
    assert permuted in (set(), {"attn_q", "attn_k"}), permuted
    return {"file": path.name, "architecture": meta["general.architecture"], "qk_permuted": bool(permuted),
            "tensor_types": sorted(set(types.values())), "tensors": sorted(types), "metadata": meta}


def dump(obj):
    """JSON with every list of numbers on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text) + "\n"


def make(name, spec, seed0, llama_cpp):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    hf = d / "hf"
    hf.mkdir(parents=True)
    tokenizer = tokenizer_for(spec["split"], spec["add_bos"])
    prompts = [tokenizer(t)["input_ids"] for t in PROMPT_TEXTS]
    dtype = spec["dtype"]
    for seed in range(seed0, seed0 + 50):
        model = AutoModelForCausalLM.from_config(spec["config"](), attn_implementation="eager")
        randomize(model, seed, spec.get("norm_center", 1.0))
        with torch.no_grad():  # the values as stored, computed in float32 (rotary buffers untouched)
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
        if name.startswith("gpt_oss"):
            with torch.no_grad():
                for layer in model.model.layers:
                    layer.mlp.experts.gate_up_proj.mul_(6.0)
        if spec.get("mxfp4"):
            round_experts_to_mxfp4(model)
        model.eval()
        model.generation_config = GenerationConfig(bos_token_id=0, pad_token_id=0, eos_token_id=None)
        cases = [generate_case(model, p) for p in prompts]
        if all(c["min_top1_gap_greedy"] >= MIN_GREEDY_GAP and not set(c["greedy"]) & {0, 1, 2} for c in cases):
            break
    else:
        sys.exit(f"{name}: no seed gave clear greedy continuations")

    model.to(dtype).save_pretrained(hf, max_shard_size=spec["shard"] or "1GB")
    if spec["legacy"]:
        write_legacy_config(hf)
    tokenizer.save_pretrained(hf, save_jinja_files=not spec["legacy"])
    if spec["legacy"] or "tokenizer_class" in spec:  # transformers 4.x named the class, and had no "backend"
        path = hf / "tokenizer_config.json"
        t = json.loads(path.read_text())
        t.pop("backend", None)
        t["tokenizer_class"] = spec.get("tokenizer_class", "PreTrainedTokenizerFast")
        path.write_text(json.dumps(t, indent=2) + "\n")
    gen = dict(spec["generation"], bos_token_id=0, eos_token_id=[2, 0])
    (hf / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    saved = json.loads((hf / "config.json").read_text())
    assert saved.get("dtype", saved.get("torch_dtype")) == DTYPE_NAME[dtype]

    # The reference: the saved checkpoint reloaded in float32.
    ref = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager").eval()
    ref.generation_config = GenerationConfig(bos_token_id=0, pad_token_id=0, eos_token_id=None)
    ref_cases = [generate_case(ref, p) for p in prompts]
    for a, b in zip(cases, ref_cases):  # the reloaded config means what was saved
        assert a["greedy"] == b["greedy"] and np.allclose(a["top5_logprobs"], b["top5_logprobs"], atol=1e-5)
    for c, text in zip(ref_cases, PROMPT_TEXTS):
        c["text"] = text
        assert tokenizer.decode(c["prompt"], skip_special_tokens=True) == text
    if name.startswith("gpt_oss"):
        assert_clamp_bites(ref, prompts[-1])
    if spec.get("mxfp4"):
        save_as_mxfp4(hf, ref)

    convert(llama_cpp, PRE_NAME[spec["split"]], hf, d / f"{name}.gguf", OUTTYPE[dtype], f"tiny-{name}")
    g = gguf_summary(llama_cpp, d / f"{name}.gguf", ref)
    cfg = ref.config
    expected = {
        "architecture": cfg.architectures[0],
        "model_type": cfg.model_type,
        "dtype": DTYPE_NAME[dtype],
        "config_layout": "transformers 4 (rope_theta/rope_scaling, torch_dtype)" if spec["legacy"] else
                         "transformers 5 (rope_parameters, dtype)",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads,
        "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        "attention_bias": name in ("qwen2", "qwen2_moe", "gpt_oss", "gpt_oss_mxfp4"),
        "qk_norm": name in ("qwen3", "gemma3", "qwen3_moe"),
        "sliding_window": getattr(cfg, "sliding_window", None) if name in ("mistral", "gemma2", "gemma3", "gpt_oss", "gpt_oss_mxfp4") else None,
        "layer_types": getattr(cfg, "layer_types", None),
        "rope_parameters": cfg.rope_parameters,
        "tokenizer_adds_bos": spec["add_bos"],
        "seed": seed,
        "reference": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}: "
                     "float32, eager attention, log_softmax of the logits",
        "gguf": {k: v for k, v in g.items() if k != "tensors"} | {"tensor_count": len(g["tensors"]),
                                                                  "has_rope_freqs": "rope_freqs.weight" in g["tensors"]},
        "min_top1_gap_prompt": min(c["min_top1_gap_prompt"] for c in ref_cases),
        "min_top1_gap_greedy": min(c["min_top1_gap_greedy"] for c in ref_cases),
        "cases": [{k: c[k] for k in ("text", "prompt", "greedy", "greedy_logprobs", "min_top1_gap_prompt",
                                     "min_top1_gap_greedy", "top5_ids", "top5_logprobs")} for c in ref_cases],
    }
    (d / "expected.json").write_text(dump(expected))
    print(f"{name}: seed {seed}, prompts {[len(p) for p in prompts]}, gguf {g['architecture']} "
          f"(q/k permuted: {g['qk_permuted']}), min top-1/top-2 gap: prompt {expected['min_top1_gap_prompt']}, "
          f"greedy {expected['min_top1_gap_greedy']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp", type=Path, help="a llama.cpp source tree (default: llama-cpp-python "
                    f"{LLAMA_CPP_PYTHON}'s sdist, fetched into the temp directory)")
    ap.add_argument("--only", nargs="*", choices=list(SPECS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    llama_cpp = (args.llama_cpp or fetch_llama_cpp()).resolve()
    for i, (name, spec) in enumerate(SPECS.items()):
        if not args.only or name in args.only:
            make(name, spec, 1000 * (i + 1), llama_cpp)


if __name__ == "__main__":
    main()
