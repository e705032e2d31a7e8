"""The KV offloading tier (memory) under tensor, pipeline and data parallelism: each rank keeps
its part of every offloaded block (its KV heads, its stage's layers) in a tier of its own, and
copies in and out in step with rank 0; each data-parallel replica has a tier of its own (on disk,
a file of its own, restored to it alone when the server restarts). With a
KV cache too small to keep a shared system prompt, a later request loads its blocks back from
the tier and answers exactly as one process without a tier does."""
import re
import subprocess

import pytest
import requests

from tp_support import BINARY, Serve

SYSTEM = " ".join(f"Rule {i}: answer politely and keep every reply short." for i in range(60))
FILLER = " ".join(f"Entry {i} of the unrelated log reads fine." for i in range(80))


def metric(server, name):
    text = requests.get(server.url + "/metrics", timeout=30).text
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def answer(server, prompt):
    r = server.complete(prompt=prompt, max_tokens=12)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["text"]


def plain_answer():
    """The second question's answer from one process without a tier."""
    plain = Serve("--num-gpu-blocks-override", "64", "--max-model-len", "1024")
    try:
        return answer(plain, SYSTEM + "\nQ: second?\nA:")
    finally:
        plain.proc.terminate()
        assert plain.wait(60) == 0


@pytest.mark.parametrize("parallel", [["-tp", "3"], ["-pp", "2"], ["-dp", "2"]])
def test_an_evicted_prompt_comes_back_from_every_ranks_tier(parallel):
    expected = plain_answer()
    tiered = Serve("--num-gpu-blocks-override", "64", "--max-model-len", "1024", "--kv-offloading-size", "0.1", *parallel)
    try:
        answer(tiered, SYSTEM + "\nQ: first?\nA:")
        answer(tiered, FILLER)
        assert metric(tiered, "vllm:kv_offload_blocks_stored_total") > 0
        assert answer(tiered, SYSTEM + "\nQ: second?\nA:") == expected
        assert metric(tiered, "vllm:kv_offload_blocks_loaded_total") > 0
    finally:
        tiered.proc.terminate()
        assert tiered.wait(60) == 0, "".join(tiered.log[-30:])


@pytest.mark.parametrize("replicas", [["-dp", "2"], ["-dp", "2", "-pp", "2"]])
def test_each_replica_keeps_a_disk_tier_of_its_own(tmp_path, replicas):
    if "-pp" in replicas:
        # Pipeline stages keep no disk tier yet: refused, as without data parallelism.
        p = subprocess.run([BINARY, "serve", "--port", "0", *replicas, "--kv-offloading-size", "0.1", "--kv-offloading-backend", "disk",
                            "--kv-offloading-path", str(tmp_path)], capture_output=True, text=True, timeout=300)
        assert p.returncode != 0 and "the disk KV offloading tier with --tensor-parallel-size or --pipeline-parallel-size" in p.stdout + p.stderr
        return
    expected = plain_answer()
    flags = ["--num-gpu-blocks-override", "64", "--max-model-len", "1024", "--kv-offloading-size", "0.1",
             "--kv-offloading-backend", "disk", "--kv-offloading-path", str(tmp_path), *replicas]
    tiered = Serve(*flags)
    try:
        answer(tiered, SYSTEM + "\nQ: first?\nA:")  # replica 0 (both idle)
        assert metric(tiered, "vllm:kv_offload_blocks_stored_total") > 0
    finally:
        tiered.proc.terminate()
        assert tiered.wait(60) == 0, "".join(tiered.log[-30:])
    assert len(list(tmp_path.iterdir())) == 2, list(tmp_path.iterdir())  # a file per replica
    # Restarted, replica 0 finds the system prompt in its file.
    again = Serve(*flags)
    try:
        assert answer(again, SYSTEM + "\nQ: second?\nA:") == expected
        assert metric(again, "vllm:kv_offload_blocks_loaded_total") > 0
    finally:
        again.proc.terminate()
        assert again.wait(60) == 0, "".join(again.log[-30:])


def test_the_disk_tier_is_refused_with_parallel_ranks(tmp_path):
    p = subprocess.run([BINARY, "generate", "--prompt", "Hi", "--max-tokens", "2", "-pp", "2", "--kv-offloading-size", "0.1",
                        "--kv-offloading-backend", "disk", "--kv-offloading-path", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "the disk KV offloading tier with --tensor-parallel-size or --pipeline-parallel-size" in p.stderr, p.stderr
