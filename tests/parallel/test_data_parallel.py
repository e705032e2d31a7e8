"""Data parallelism (`--data-parallel-size N`): N engine replicas behind one API server that sends
each request to one of them — in the server's process, each with its own scheduler, KV cache and
share of the cores over weights loaded once; or, when each replica is itself tensor- or
pipeline-parallel, as MPI processes (replica k's first rank runs its engine and exchanges requests
and outputs with the server's rank). Answers equal one engine's; every replica's metrics carry its
index as vLLM's `engine` label; a prompt goes to the replica that has its prefix cached unless
that one is far busier."""
import os
import re
import subprocess
import threading
import time

import requests

from test_tensor_parallel import Serve, served
from tp_support import BINARY, EXACT, MODEL, SMALL_CACHE, compare, generate, reference_requests, serves_as_one_process_and_drains


def metric(url, name, engine):
    text = requests.get(url + "/metrics", timeout=10).text
    pattern = re.compile(r"^%s\{[^}]*engine=\"%d\"[^}]*\} (\S+)$" % (re.escape(name), engine), re.M)
    found = pattern.findall(text)
    assert found, f"{name} engine={engine} not in /metrics"
    return float(found[0])


def test_two_replicas_answer_as_one_engine_and_share_the_requests(tmp_path):
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *EXACT, *SMALL_CACHE)
    server = Serve("--data-parallel-size", "2", *EXACT, *SMALL_CACHE)
    try:
        assert compare(base, served(server, reqs)) <= 1e-4
        tokens = [metric(server.url, "vllm:prompt_tokens_total", e) for e in (0, 1)]
        assert all(t > 0 for t in tokens), tokens
        assert sum(tokens) == sum(len(r["prompt_token_ids"]) for r in reqs)
    finally:
        server.proc.terminate()
        assert server.wait(60) == 0, "".join(server.log[-30:])


def test_a_shared_prefix_goes_to_the_replica_that_cached_it():
    server = Serve("--data-parallel-size", "2")
    prefix = "You are a careful assistant who answers questions about the rivers of Europe in detail. " * 6
    try:
        r = server.complete(prompt=prefix + "Which river flows through Vienna?", max_tokens=4)
        assert r.status_code == 200, r.text
        assert metric(server.url, "vllm:prompt_tokens_total", 0) > 0  # both idle: the first replica
        # A long request keeps replica 0 busy; an unrelated prompt then goes to idle replica 1 ...
        busy = threading.Thread(target=lambda: server.complete(prompt="Count to a thousand:", max_tokens=600, ignore_eos=True))
        busy.start()
        deadline = time.time() + 60
        while metric(server.url, "vllm:num_requests_running", 0) < 1 and time.time() < deadline:
            time.sleep(0.02)
        r = server.complete(prompt="Name three colours.", max_tokens=4)
        assert r.status_code == 200 and metric(server.url, "vllm:prompt_tokens_total", 1) > 0
        # ... but the shared prefix goes to busy replica 0, whose prefix cache holds it.
        hits = metric(server.url, "vllm:prefix_cache_hits_total", 0)
        ones = metric(server.url, "vllm:prompt_tokens_total", 1)
        r = server.complete(prompt=prefix + "Which river flows through Budapest?", max_tokens=4)
        assert r.status_code == 200, r.text
        assert metric(server.url, "vllm:prefix_cache_hits_total", 0) - hits >= 64
        assert metric(server.url, "vllm:prompt_tokens_total", 1) == ones
        busy.join(300)
    finally:
        server.proc.terminate()
        assert server.wait(60) == 0, "".join(server.log[-30:])


def test_replicas_of_pipelines_answer_as_one_engine_and_share_the_requests(tmp_path):
    # Two replicas of two pipeline stages each: four processes; 64 KV blocks per replica, so the
    # replica given more requests preempts and recomputes through its prefix cache.
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *EXACT, *SMALL_CACHE)
    server = Serve("--data-parallel-size", "2", "--pipeline-parallel-size", "2", *EXACT, *SMALL_CACHE)
    try:
        assert len(server.ranks()) == 4
        assert compare(base, served(server, reqs)) <= 1e-4
        tokens = [metric(server.url, "vllm:prompt_tokens_total", e) for e in (0, 1)]
        assert all(t > 0 for t in tokens), tokens
        assert sum(tokens) == sum(len(r["prompt_token_ids"]) for r in reqs)
        assert sum(metric(server.url, "vllm:num_requests_running", e) for e in (0, 1)) == 0
    finally:
        server.proc.terminate()
        assert server.wait(60) == 0, "".join(server.log[-30:])


def test_serve_dp2_tp3_answers_as_one_process_and_drains_on_sigterm(tmp_path):
    serves_as_one_process_and_drains(tmp_path, ["--data-parallel-size", "2", "--tensor-parallel-size", "3"], ranks=6, long_tokens=200)


def test_data_parallel_refusals():
    p = subprocess.run([BINARY, "generate", "--prompt", "Hi", "--data-parallel-size", "2"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "--data-parallel-size applies to the serving commands" in p.stderr, p.stderr
    # Under mpirun the world must hold every replica's ranks.
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    p = subprocess.run(["mpirun", *root, "--oversubscribe", "-n", "3", BINARY, "serve", "--port", "0", "-dp", "2"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0, p.stderr
    assert "mpirun started 3 ranks but --data-parallel-size × --tensor-parallel-size × --pipeline-parallel-size is 2; give mpirun -n 2" in p.stderr + p.stdout


def test_vllm_multi_node_launch_flags_point_to_mpirun():
    # vLLM starts each node's replicas with a command of its own; here one mpirun starts them all.
    for flags in (["--data-parallel-address", "10.0.0.1"], ["--data-parallel-rpc-port", "13345"], ["--data-parallel-start-rank", "2"], ["--headless"]):
        p = subprocess.run([BINARY, "serve", "--port", "0", "-dp", "4", *flags], capture_output=True, text=True, timeout=60)
        assert p.returncode != 0
        assert f"{flags[0]} is not needed: replicas on several hosts are started together by mpirun" in p.stderr, p.stderr
    p = subprocess.run([BINARY, "serve", "--port", "0", "-dp", "2", "--data-parallel-backend", "ray"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--data-parallel-backend ray is not supported" in p.stderr, p.stderr
