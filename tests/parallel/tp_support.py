"""Helpers and fixtures of the parallel tests (no conftest.py here: tests/server's modules import
theirs by that name): the default model and small random ones, `vllm generate` over a
prompts file at a given tensor-parallel size, and the comparison of its outputs with size 1's."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
MODEL = Path(os.environ.get("SWIFT_VLLM_MODEL_DIR", Path.home() / ".cache/swift-vllm/models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
REF = ROOT.parent / "shared/reference/smollm2-135m-instruct-q4_1"
EXACT = ["--activation-dtype", "exact", "--kv-cache-dtype", "float32"]
# 64 blocks of 16 tokens: the reference prompts need 78 at once, so requests are preempted and
# recomputed (through the prefix cache).
SMALL_CACHE = ["--max-model-len", "1024", "--num-gpu-blocks-override", "64"]


def reference_requests(max_tokens=24):
    cases = [json.loads(l) for l in (REF / "generation.jsonl").read_text().splitlines() if l.strip()]
    reqs = [{"prompt_token_ids": c["prompt_token_ids"], "max_tokens": max_tokens, "logprobs": 5, "temperature": 0,
             "ignore_eos": True} for c in cases]
    # A repeat of an earlier prompt: its blocks come from the prefix cache.
    return reqs + [reqs[3]]


def generate(tmp_path, model, tp, requests_, *extra, launcher=()):
    """`launcher`: a command that starts the ranks itself (mpirun); by default the binary does."""
    src = tmp_path / "prompts.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in requests_))
    p = subprocess.run([*launcher, BINARY, "generate", "--model", str(model), "--prompts-file", str(src), "--tensor-parallel-size", str(tp),
                        *extra], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(l) for l in p.stdout.splitlines()]


def compare(base, parallel):
    """Asserts the same tokens everywhere; returns the largest top-5 logprob difference."""
    assert len(base) == len(parallel)
    worst = 0.0
    for a, b in zip(base, parallel):
        oa, ob = a["outputs"][0], b["outputs"][0]
        assert oa["token_ids"] == ob["token_ids"]
        for la, lb in zip(oa["logprobs"], ob["logprobs"]):
            assert la.keys() == lb.keys()
            worst = max(worst, max(abs(la[k] - lb[k]) for k in la))
    return worst


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """Random-weight Llama models whose 8 heads split over 2 and 4 ranks: 4 KV heads (one or two
    per rank) and 2 KV heads (replicated when 4 ranks share them, untied LM head)."""
    d = tmp_path_factory.mktemp("tp-models")
    shapes = {"kv4": ["--kv-heads", "4"], "kv2": ["--kv-heads", "2", "--untied"], "q4k": ["--kv-heads", "4", "--type", "Q4_K_M"]}
    out = {}
    procs = []
    for name, extra in shapes.items():
        out[name] = d / f"{name}.gguf"
        args = ["--hidden", "256", "--layers", "2", "--heads", "8", "--ffn", "512", "--type", "Q8_0", "--seed", "3", *extra]
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "scripts/make-synthetic-gguf.py"), *args, "--out", str(out[name]),
                                       "--tokenizer-from", str(MODEL)], stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    return out


class Serve:
    """`vllm serve --tensor-parallel-size N`: the command starts mpirun and stays its parent."""

    def __init__(self, *args):
        self.log = []
        self.proc = subprocess.Popen([BINARY, "serve", "--host", "127.0.0.1", "--port", "0", "--max-model-len", "2048",
                                      "--kv-cache-memory", "128MiB", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        self.port = None

        def pump():
            for line in self.proc.stdout:
                self.log.append(line)
                m = re.search(r"Serving .* on http://[^:]+:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(180)
        assert self.port, "server did not start:\n" + "".join(self.log)
        self.url = f"http://127.0.0.1:{self.port}"

    def complete(self, **body):
        body = {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "temperature": 0, **body}
        return requests.post(self.url + "/v1/completions", json=body, timeout=300)

    def ranks(self):
        """mpirun's children: the rank processes."""
        mpirun = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(mpirun) == 1, mpirun
        return [int(p) for p in subprocess.run(["pgrep", "-P", mpirun[0]], capture_output=True, text=True).stdout.split()]

    def wait(self, timeout):
        return self.proc.wait(timeout)


def alive(pids):
    return [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]]


def served(server, requests_):
    """The reference requests sent at once to a server, in generate's output shape."""
    def one(r):
        body = {**r, "prompt": r["prompt_token_ids"], "return_tokens_as_token_ids": True}
        del body["prompt_token_ids"]
        resp = server.complete(**body)
        assert resp.status_code == 200, resp.text
        lp = resp.json()["choices"][0]["logprobs"]
        return {"outputs": [{"token_ids": [int(t.split(":")[1]) for t in lp["tokens"]],
                             "logprobs": [{k.split(":")[1]: v for k, v in top.items()} for top in lp["top_logprobs"]]}]}
    with ThreadPoolExecutor(len(requests_)) as pool:
        return list(pool.map(one, requests_))


def serves_as_one_process_and_drains(tmp_path, flags, ranks, long_tokens):
    """`vllm serve` with `flags` answers a greedy completion as one process does; a long request
    in flight when SIGTERM comes runs to its end, the command exits 0 and every rank stops."""
    prompt = "The capital of France is"
    [base] = generate(tmp_path, MODEL, 1, [{"prompt": prompt, "max_tokens": 16, "temperature": 0}])
    server = Serve(*flags)
    try:
        pids = server.ranks()
        assert len(pids) == ranks
        r = server.complete(prompt=prompt, max_tokens=16)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["text"] == base["outputs"][0]["text"]
        result = {}
        t = threading.Thread(target=lambda: result.update(r=server.complete(prompt="Once upon a time", max_tokens=long_tokens, ignore_eos=True)))
        t.start()
        time.sleep(1.0)
        server.proc.send_signal(signal.SIGTERM)
        t.join(300)
        assert result["r"].status_code == 200 and result["r"].json()["usage"]["completion_tokens"] == long_tokens
        assert server.wait(60) == 0, "".join(server.log[-30:])
        deadline = time.time() + 10
        while alive(pids) and time.time() < deadline:
            time.sleep(0.1)
        assert not alive(pids)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
