"""Tensor parallelism over Open MPI ranks (`--tensor-parallel-size N`): every rank a process with
its own threads, oversubscribed on this machine's two cores. Outputs are compared with the same
command at N=1.

What equal means: the ranks add the row-parallel layers' partial sums in another order than one
process does, which moves results in the last bits. With fp32 activations and an fp32 KV cache
(`--activation-dtype exact --kv-cache-dtype float32`) that is all, and top-5 logprobs agree within
1e-4. In the default mode the activations of the quantized matmuls are rounded to int8 terms and
the KV cache to fp16: a last-bit change can cross a rounding boundary there and move a value by a
whole step, so logprobs differ by up to the default mode's own distance from an exact pass (the
fidelity budget, 0.02); greedy tokens stay the same on the reference prompts.
"""
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

from tp_support import (BINARY, EXACT, MODEL, SMALL_CACHE, Serve, alive, compare, generate, reference_requests, served,  # noqa: F401 (fixture)
                        serves_as_one_process_and_drains, synthetic)


def test_open_mpi_is_installed():
    # The suite's setup (scripts/test) installs openmpi-bin; without it every test here fails.
    assert shutil.which("mpirun"), "mpirun not found: apt-get install openmpi-bin"


def test_reference_blocks_exceed_the_small_cache():
    need = sum(-(-(len(r["prompt_token_ids"]) + r["max_tokens"]) // 16) for r in reference_requests())
    assert need > 64


def test_default_model_tp3_exact_equals_tp1(tmp_path):
    # The default model has 9 query and 3 KV heads: 3 ranks hold 3 and 1 each.
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *EXACT, *SMALL_CACHE)
    assert compare(base, generate(tmp_path, MODEL, 3, reqs, *EXACT, *SMALL_CACHE)) <= 1e-4


def test_default_model_tp3_default_mode_within_the_fidelity_budget(tmp_path):
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *SMALL_CACHE)
    assert compare(base, generate(tmp_path, MODEL, 3, reqs, *SMALL_CACHE)) <= 0.02


@pytest.mark.parametrize("model, tp", [("kv4", 2), ("kv4", 4), ("kv2", 4)])
def test_synthetic_models_equal_tp1(tmp_path, synthetic, model, tp):
    reqs = [{"prompt": p, "max_tokens": 16, "logprobs": 5, "temperature": 0, "ignore_eos": True}
            for p in ["Hello", "The capital of France is", "1, 2, 3,", "def fib(n):" * 8]]
    base = generate(tmp_path, synthetic[model], 1, reqs, *EXACT, "--max-model-len", "512")
    assert compare(base, generate(tmp_path, synthetic[model], tp, reqs, *EXACT, "--max-model-len", "512")) <= 1e-4


def test_forks_and_async_scheduling_equal_tp1(tmp_path):
    # n > 1 shares the prompt's blocks and copies the last partial one (a block copy every rank
    # makes); async scheduling hands the runner placeholders for the tokens being sampled.
    reqs = [{"prompt": p, "max_tokens": 12, "n": 3, "temperature": 0.8, "seed": 11, "logprobs": 2}
            for p in ["Once upon a time there was a", "The three primary colors are"]]
    flags = [*EXACT, "--max-model-len", "512", "--async-scheduling"]
    base, parallel = generate(tmp_path, MODEL, 1, reqs, *flags), generate(tmp_path, MODEL, 3, reqs, *flags)
    for a, b in zip(base, parallel):
        assert [o["token_ids"] for o in a["outputs"]] == [o["token_ids"] for o in b["outputs"]]
        assert len({tuple(o["token_ids"]) for o in a["outputs"]}) > 1


def refused(*args):
    p = subprocess.run([BINARY, "generate", "--prompt", "Hi", "--max-tokens", "2", *args], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0
    return p.stderr


def test_heads_that_do_not_divide_are_refused_once():
    err = refused("--tensor-parallel-size", "2")
    # vLLM's words; rank 0 says it for both ranks.
    assert err.count("Total number of attention heads (9) must be divisible by tensor parallel size (2).") == 1, err


def test_a_split_off_block_boundaries_is_refused(synthetic):
    # 4 ranks of 8 heads of 32 dimensions: 64 columns of attn_output each, a quarter of a Q4_K block.
    err = refused("--model", str(synthetic["q4k"]), "--tensor-parallel-size", "4")
    assert re.search(r"tensor blk\.0\.attn_output\.weight \(Q4_K.*cannot be split by tensor parallel size 4", err), err


def test_serve_tp3_answers_as_tp1_and_drains_on_sigterm(tmp_path):
    serves_as_one_process_and_drains(tmp_path, ["--tensor-parallel-size", "3"], ranks=3, long_tokens=600)


@pytest.mark.parametrize("layout", [["--tensor-parallel-size", "3"], ["--data-parallel-size", "2", "--pipeline-parallel-size", "2"]])
def test_a_killed_rank_ends_the_server_naming_it(layout):
    # With data parallelism the victim is a rank of replica 1 (rank 0 starts first).
    server = Serve(*layout)
    try:
        ranks = server.ranks()
        def cut_short():
            with pytest.raises(requests.ConnectionError):
                server.complete(prompt="Once upon a time", max_tokens=1500, ignore_eos=True)

        threading.Thread(target=cut_short, daemon=True).start()
        time.sleep(1.0)
        victim = max(ranks)  # a worker: rank 0 starts first
        os.kill(victim, signal.SIGKILL)
        start = time.time()
        code = server.wait(60)
        assert code != 0 and time.time() - start < 30
        time.sleep(0.5)
        assert re.search(r"process rank \d with PID \d+ .*exited on signal 9", "".join(server.log)), "".join(server.log[-20:])
        assert not alive(ranks)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()


@pytest.mark.parametrize("pp", [1, 2])
def test_sharded_state_serves_as_the_whole_file(tmp_path, pp):
    # Each rank maps only its file (with pp 2, only its stage's layers); the answers are TP 1's
    # (preempted and prefix-cached ones included).
    out = tmp_path / "sharded"
    p = subprocess.run([BINARY, "save-sharded-state", "--model", str(MODEL), "-tp", "3", "-pp", str(pp), "--output", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    files = sorted(f.name for f in out.iterdir())
    assert files == sorted(f"model-rank-{r}-part-0.gguf" for r in range(3 * pp))
    assert all((out / f).stat().st_size < MODEL.stat().st_size / (2 * pp) for f in files)
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *EXACT, *SMALL_CACHE)
    server = Serve(str(out), "--load-format", "sharded_state", "--tensor-parallel-size", "3", "--pipeline-parallel-size", str(pp),
                   *EXACT, *SMALL_CACHE, "--served-model-name", "HuggingFaceTB/SmolLM2-135M-Instruct")
    try:
        assert compare(base, served(server, reqs)) <= 1e-4
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert re.search(r"^vllm:num_preemptions_total\{[^}]*\} [1-9]", metrics, re.M), metrics
    finally:
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, "".join(server.log[-30:])


def test_sharded_state_for_another_size_is_refused(tmp_path):
    out = tmp_path / "tp3"
    subprocess.run([BINARY, "save-sharded-state", "--model", str(MODEL), "-tp", "3", "--output", str(out)], check=True,
                   capture_output=True, timeout=300)
    p = subprocess.run([BINARY, "serve", str(out), "--load-format", "sharded_state", "--port", "0"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "saved for tensor parallel size 3; load it with --tensor-parallel-size 3" in p.stderr, p.stderr
    # Heads that do not divide are refused before anything is written, in vLLM's words.
    p = subprocess.run([BINARY, "save-sharded-state", "--model", str(MODEL), "-tp", "2", "--output", str(tmp_path / "tp2")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "Total number of attention heads (9) must be divisible by tensor parallel size (2)." in p.stderr
    assert not (tmp_path / "tp2").exists()
