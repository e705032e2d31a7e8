"""Multi-LoRA end to end through `vllm generate`: adapters applied in the batch equal merged models,
mixed batches equal solo runs, and every bad adapter is a one-line error."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

# No conftest.py here: tests/server imports its helpers from a module named `conftest`, and
# pytest would hand it this folder's instead.
sys.path.insert(0, str(Path(__file__).parent))
import make_adapters  # noqa: E402
from make_adapters import edit_config  # noqa: E402


@pytest.fixture(scope="session")
def adapters(tmp_path_factory):
    """The test adapters of make_adapters.py and their merged GGUFs, made once per session."""
    return make_adapters.make(tmp_path_factory.mktemp("lora"))

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
PROMPTS = ["<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
           "The three largest cities in Europe are"]
# fp32 KV cache: an fp16 cache rounds the tiny fp32 differences below into ~1e-3 logprob noise.
# Exact activations: the default's two int8 terms would add their own rounding (within the
# fidelity budget, but enough to flip a near-tie) to what these tests compare.
GREEDY = ["--temperature", "0", "--ignore-eos", "--max-tokens", "12", "--logprobs", "1", "--kv-cache-dtype", "float32",
          "--activation-dtype", "exact"]
# Dynamic LoRA on the Q4_1 weights vs a merged fp32 weight differ only by fp32 rounding order
# (measured: at most ~1e-4).
LOGPROB_TOL = 5e-4


def run(*args, check=True):
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=600)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def generate_file(lines, *args):
    """Runs --prompts-file with the given JSON lines; returns the RequestOutputs in order."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lora-prompts-{os.getpid()}.jsonl"
    path.write_text("\n".join(json.dumps(l) for l in lines))
    try:
        out = run("generate", "--prompts-file", str(path), *GREEDY, *args).stdout
    finally:
        path.unlink()
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def chosen_logprobs(out):
    o = out["outputs"][0]
    return [lp[str(t)] for t, lp in zip(o["token_ids"], o["logprobs"])]


def lora_flags(adapters, names, max_loras=1):
    mods = [f"{n}={adapters[n]['path']}" for n in names]
    return ["--enable-lora", "--max-lora-rank", "64", "--max-loras", str(max_loras),
            "--max-cpu-loras", str(max(len(names), max_loras)), "--lora-modules", *mods]


@pytest.mark.parametrize("name", ["qv4", "attn8", "mlp32", "all64"])
def test_dynamic_adapter_equals_merged_model(adapters, name):
    lines = [{"prompt": p} for p in PROMPTS]
    merged = generate_file(lines, "--model", adapters[name]["merged"])
    dynamic = generate_file([dict(l, lora=name) for l in lines], *lora_flags(adapters, [name]))
    base = generate_file(lines)
    for m, d, b in zip(merged, dynamic, base):
        assert d["outputs"][0]["token_ids"] == m["outputs"][0]["token_ids"]
        diff = np.abs(np.array(chosen_logprobs(d)) - np.array(chosen_logprobs(m))).max()
        assert diff < LOGPROB_TOL, diff
    # The adapters are strong enough to change what the model says.
    assert any(d["outputs"][0]["token_ids"] != b["outputs"][0]["token_ids"] for d, b in zip(dynamic, base))


@pytest.mark.parametrize("max_loras", [4, 2])
def test_mixed_batch_equals_each_request_alone(adapters, max_loras):
    names = ["qv4", "attn8", "mlp32", "all64"]
    lines = [{"prompt": p, **({"lora": n} if n else {})} for n in names + [None] for p in PROMPTS]
    flags = lora_flags(adapters, names, max_loras)
    mixed = generate_file(lines, *flags)
    for line, out in zip(lines, mixed):
        alone = json.loads(run("generate", "--prompt", line["prompt"], *GREEDY, "--json", *flags,
                               *(["--lora", line["lora"]] if "lora" in line else [])).stdout)
        assert out["outputs"][0]["token_ids"] == alone["outputs"][0]["token_ids"], line
        assert np.allclose(chosen_logprobs(out), chosen_logprobs(alone), atol=1e-4), line


@pytest.mark.parametrize("parallel", [["--tensor-parallel-size", "3"], ["--pipeline-parallel-size", "2"]])
def test_parallel_ranks_apply_every_adapter_as_one_process_does(adapters, parallel):
    # Each of 3 ranks (the default model's 9 heads) applies its part of each adapter: B's rows of
    # Q/K/V/gate/up, A's columns of o/down (partial sums added by the layer's all-reduce); each of
    # 2 pipeline stages applies the adapter's layers it holds.
    names = ["qv4", "attn8", "mlp32", "all64"]
    lines = [{"prompt": p, **({"lora": n} if n else {})} for n in names + [None] for p in PROMPTS]
    flags = lora_flags(adapters, names, 4)
    one = generate_file(lines, *flags)
    three = generate_file(lines, *flags, *parallel)
    assert len(three) == len(one) == len(lines)
    for line, a, b in zip(lines, one, three):
        assert b["outputs"][0]["token_ids"] == a["outputs"][0]["token_ids"], line
        assert np.allclose(chosen_logprobs(b), chosen_logprobs(a), atol=1e-4), line


def test_lora_modules_json_form_and_lora_path(adapters):
    a = adapters["qv4"]
    j = json.dumps({"name": "x", "path": a["path"], "base_model_name": "smol"})
    one = run("generate", "--prompt", PROMPTS[1], *GREEDY, "--json", "--enable-lora", "--lora-modules", j, "--lora", "x")
    two = run("generate", "--prompt", PROMPTS[1], *GREEDY, "--json", "--enable-lora", "--lora-path", a["path"])
    assert json.loads(one.stdout)["outputs"][0]["token_ids"] == json.loads(two.stdout)["outputs"][0]["token_ids"]
    assert "LoRA: at start, 1 adapter(s) loaded" in one.stderr and "KV blocks left for requests" in one.stderr
    assert "vLLM-style preallocation" in one.stderr


def bad_copy(adapters, tmp_path, name="qv4"):
    d = tmp_path / "bad"
    shutil.copytree(adapters[name]["path"], d)
    return d


def rewrite_weights(d, fn):
    from safetensors.numpy import load_file
    w = load_file(str(d / "adapter_model.safetensors"))
    save_file(fn(w), str(d / "adapter_model.safetensors"))


BAD = {
    "missing path": (lambda d: shutil.rmtree(d), "no LoRA adapter at"),
    "not a directory": (lambda d: (shutil.rmtree(d), d.write_text("x")), "is not a LoRA adapter: not a directory"),
    "no config": (lambda d: (d / "adapter_config.json").unlink(), "adapter_config.json is missing"),
    "config not json": (lambda d: (d / "adapter_config.json").write_text("{r: 4"), "not a JSON object"),
    "not lora": (lambda d: edit_config(d, peft_type="PREFIX_TUNING"), "peft_type is PREFIX_TUNING"),
    "no weights": (lambda d: (d / "adapter_model.safetensors").unlink(), "adapter_model.safetensors is missing"),
    "rank too large": (lambda d: edit_config(d, r=32), "LoRA rank 32 is greater than max_lora_rank 16"),
    "target the model lacks": (lambda d: edit_config(d, target_modules=["q_proj", "c_attn"]), "targets c_attn"),
    "truncated weights": (lambda d: (d / "adapter_model.safetensors").write_bytes(
        (d / "adapter_model.safetensors").read_bytes()[:5000]), "corrupt or truncated safetensors file"),
    "shape mismatch": (lambda d: rewrite_weights(d, lambda w: {k: (v[:, :100] if "lora_A" in k else v) for k, v in w.items()}),
                       "does not fit the model"),
    "half missing": (lambda d: rewrite_weights(d, lambda w: {k: v for k, v in w.items() if not k.endswith("layers.3.self_attn.q_proj.lora_B.weight")}),
                     "has lora_A without lora_B"),
    "dora": (lambda d: edit_config(d, use_dora=True), "DoRA"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_adapter_is_a_one_line_error(adapters, tmp_path, case):
    d = bad_copy(adapters, tmp_path)
    change, needle = BAD[case]
    change(d)
    p = run("generate", "--prompt", "hi", "--enable-lora", "--lora-modules", f"bad={d}", check=False)
    assert p.returncode != 0
    assert needle in p.stderr, p.stderr
    assert "Fatal" not in p.stderr and "Backtrac" not in p.stderr
    assert len([l for l in p.stderr.splitlines() if l.startswith("Error")]) == 1


@pytest.mark.parametrize("args, needle", [
    (["--lora", "x"], "need --enable-lora"),
    (["--enable-lora", "--lora", "x"], "not among --lora-modules"),
    (["--enable-lora", "--lora-modules", "a=/x", "a=/y", "--max-cpu-loras", "2"], "names 'a' twice"),
    (["--enable-lora", "--lora-modules", "noequals"], "expects name=path"),
    (["--lora-modules", "a=/x"], "needs --enable-lora"),
    (["--enable-lora", "--max-loras", "2", "--max-cpu-loras", "1"], "must be at least --max-loras"),
])
def test_bad_lora_flags(args, needle):
    p = run("generate", "--prompt", "hi", *args, check=False)
    assert p.returncode != 0 and needle in p.stderr, p.stderr
