"""scripts/make-synthetic-gguf.py: tiny random-weight models of each --type load and generate in our
binary, and (when llama-cpp-python is installed) our greedy tokens agree with llama.cpp's.

Random-weight models have nearly flat output distributions (top-1/top-2 logprob gaps are often
below 0.01), while the two engines' logprobs differ by up to ~0.02 from rounding (llama.cpp
quantizes activations to 8 bits for its quantized matmuls). So greedy agreement is checked
teacher-forced on our tokens: at every step our token must be llama.cpp's argmax or within
TIE of it, and our top-5 logprobs must equal llama.cpp's within LOGPROB_TOL. A wrongly decoded
block layout moves logprobs by whole units and fails this. With the seed used here (2) the
free-running greedy sequences were also identical for all three types on the development machine
(with seed 0, Q8_0 and Q4_0 diverged at step 0 on near-ties of 0.007, which this check accepts).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
SCRIPT = ROOT / "scripts/make-synthetic-gguf.py"
TOKENIZER = Path(os.environ.get("SWIFT_VLLM_MODEL_DIR", Path.home() / ".cache/swift-vllm/models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
SHAPE = ["--hidden", "256", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "512"]
TYPES = ["Q8_0", "Q4_0", "Q4_K_M"]
TIE = 0.03
LOGPROB_TOL = 0.05

pytestmark = pytest.mark.skipif(not TOKENIZER.exists(), reason="default model (tokenizer source) not fetched")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    out = {t: d / f"tiny-{t}.gguf" for t in TYPES}
    # In parallel: most of each run is the gguf package parsing and re-writing the 49k-token vocabulary.
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), *SHAPE, "--type", t, "--seed", "2", "--out", str(path),
                               "--tokenizer-from", str(TOKENIZER)], stderr=subprocess.PIPE) for t, path in out.items()]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    return out


def generate(path, act="float32"):
    p = subprocess.run([BINARY, "generate", "--model", str(path), "--temperature", "0", "--max-tokens", "8",
                        "--prompt", "Hello", "--ignore-eos", "--json", "--logprobs", "5", "--kv-cache-memory", "64M",
                        "--activation-dtype", act],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("qtype", TYPES)
def test_file_has_expected_tensor_types(models, qtype):
    import gguf
    r = gguf.GGUFReader(str(models[qtype]))
    types = {t.name: t.tensor_type.name for t in r.tensors}
    assert types["blk.0.attn_norm.weight"] == "F32"
    assert int(r.fields["llama.context_length"].contents()) == 4096
    assert len(r.fields["tokenizer.ggml.tokens"].contents()) == 49152
    if qtype == "Q8_0":
        assert {v for k, v in types.items() if "norm" not in k} == {"Q8_0"}
    elif qtype == "Q4_0":
        assert types["token_embd.weight"] == "Q6_K" and types["blk.1.ffn_down.weight"] == "Q4_0"
    else:  # 2 layers: llama.cpp's "more bits" rule picks layer 1 only (1 >= 7*2//8; layer 0 meets no clause)
        assert types["token_embd.weight"] == "Q6_K" and types["blk.0.attn_q.weight"] == "Q4_K"
        assert types["blk.0.attn_v.weight"] == "Q4_K" and types["blk.1.attn_v.weight"] == "Q6_K"
        assert types["blk.1.ffn_down.weight"] == "Q6_K"


# int8 activations (opt-in) are held to the same tolerances as the exact default.
@pytest.mark.parametrize("act", ["float32", "int8"])
@pytest.mark.parametrize("qtype", TYPES)
def test_generates_and_agrees_with_llamacpp(models, qtype, act):
    out = generate(models[qtype], act)
    o = out["outputs"][0]
    assert out["prompt_token_ids"] == [19556]
    assert len(o["token_ids"]) == 8 and o["finish_reason"] == "length"
    try:
        import numpy as np
        import llama_cpp
    except ImportError:
        pytest.skip("llama-cpp-python not installed")
    llm = llama_cpp.Llama(model_path=str(models[qtype]), n_ctx=64, n_threads=2, verbose=False)
    assert llm.tokenize(b"Hello", add_bos=True, special=True) == out["prompt_token_ids"]
    llm.eval(out["prompt_token_ids"])
    for step, (tok, top) in enumerate(zip(o["token_ids"], o["logprobs"])):
        lg = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
        lp = lg - lg.max()
        lp -= np.log(np.exp(lp).sum())
        best = int(lp.argmax())
        assert lp[best] - lp[tok] <= TIE, f"step {step}: ours {tok} ({lp[tok]:.4f}) vs llama.cpp {best} ({lp[best]:.4f})"
        for k, v in top.items():
            assert abs(v - lp[int(k)]) < LOGPROB_TOL, f"step {step} token {k}: ours {v:.4f} llama.cpp {lp[int(k)]:.4f}"
        llm.eval([tok])
