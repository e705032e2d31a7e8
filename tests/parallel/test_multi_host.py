"""Tensor parallelism across hosts, played on this machine by two network namespaces joined by a
veth pair with private addresses that exist only inside them (torn down at the end). mpirun runs
in the first; its remote-shell agent starts Open MPI's daemon in the namespace named by the host
(with that host name), and the ranks talk over TCP on the veth link only (no shared-memory
transport), so every byte between them crosses an interface.
"""
import json
import os
import re
import subprocess
import uuid

import pytest

from tp_support import BINARY, EXACT, compare, generate, synthetic  # noqa: F401 (fixture)

SUBNET = "10.231.7.0/24"


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Two namespaces "hosts" a and b: their names, mpirun's agent, and a link byte counter."""
    tag = uuid.uuid4().hex[:6]
    ns = {h: f"svllm-{tag}-{h}" for h in "ab"}
    link = {"a": f"sv{tag}a", "b": f"sv{tag}b"}
    ip("netns", "add", ns["a"])
    try:
        ip("netns", "add", ns["b"])
        ip("link", "add", link["a"], "type", "veth", "peer", "name", link["b"])
        for h, addr in (("a", "10.231.7.1/24"), ("b", "10.231.7.2/24")):
            ip("link", "set", link[h], "netns", ns[h])
            ip("-n", ns[h], "addr", "add", addr, "dev", link[h])
            ip("-n", ns[h], "link", "set", "lo", "up")
            ip("-n", ns[h], "link", "set", link[h], "up")
        agent = tmp_path_factory.mktemp("agent") / "netns-agent.sh"
        # mpirun calls its agent as it would ssh: options, the host, then the command line.
        agent.write_text("#!/bin/sh\n"
                         "while [ \"${1#-}\" != \"$1\" ]; do shift; done\n"
                         "host=$1; shift\n"
                         f"exec ip netns exec svllm-{tag}-$host unshare --uts /bin/sh -c \"hostname $host; $*\"\n")
        agent.chmod(0o755)

        def link_bytes():
            out = subprocess.run(["ip", "-n", ns["b"], "-s", "-j", "link", "show", link["b"]], capture_output=True, text=True).stdout
            stats = json.loads(out)[0]["stats64"]
            return stats["rx"]["bytes"] + stats["tx"]["bytes"]

        yield {"ns": ns, "agent": str(agent), "link_bytes": link_bytes}
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def mpirun(hosts, ranks):
    """Half the ranks on each host, in order: a pipeline's first stage on a, its second on b."""
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    return ["ip", "netns", "exec", hosts["ns"]["a"], "mpirun", *root, "-n", str(ranks), "--host", f"a:{ranks // 2},b:{ranks // 2}",
            "--mca", "plm_rsh_agent", hosts["agent"], "--mca", "oob_tcp_if_include", SUBNET,
            "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", SUBNET]


def test_two_hosts_equal_one_process(tmp_path, hosts, synthetic):
    reqs = [{"prompt": p, "max_tokens": 16, "logprobs": 5, "temperature": 0, "ignore_eos": True}
            for p in ["Hello", "The capital of France is", "def fib(n):" * 8]]
    base = generate(tmp_path, synthetic["kv4"], 1, reqs, *EXACT, "--max-model-len", "512")
    before = hosts["link_bytes"]()
    across = generate(tmp_path, synthetic["kv4"], 2, reqs, *EXACT, "--max-model-len", "512", launcher=mpirun(hosts, 2))
    assert compare(base, across) <= 1e-4
    # Each step's all-reduces and the logits went over the veth link: well over a megabyte.
    assert hosts["link_bytes"]() - before > 1_000_000


@pytest.mark.parametrize("tp, pp", [(1, 2), (2, 2)])
def test_pipeline_stages_on_two_hosts_equal_one_process(tmp_path, hosts, synthetic, tp, pp):
    # Stage 0 on host a, stage 1 on b: each step's residual stream crosses the link one way and
    # the sampled tokens the other (with tp 2, each stage's all-reduces stay on its host).
    reqs = [{"prompt": p, "max_tokens": 16, "logprobs": 5, "temperature": 0, "ignore_eos": True}
            for p in ["Hello", "The capital of France is", "def fib(n):" * 8]]
    base = generate(tmp_path, synthetic["kv4"], 1, reqs, *EXACT, "--max-model-len", "512")
    before = hosts["link_bytes"]()
    across = generate(tmp_path, synthetic["kv4"], tp, reqs, *EXACT, "--max-model-len", "512", "--pipeline-parallel-size", str(pp),
                      launcher=mpirun(hosts, tp * pp))
    assert compare(base, across) <= 1e-4
    # The residual streams (hidden 256 × 4 bytes per token) cross, not logits rows (vocabulary
    # 49,152 × 4 bytes per sampled token: over 3 MB here).
    moved = hosts["link_bytes"]() - before
    assert 20_000 < moved < 1_500_000, moved


def run_batch(tmp_path, model, lines, *extra, launcher=()):
    """`vllm run-batch` over completion `lines`; each line's first choice, in input order."""
    src, out = tmp_path / "batch.jsonl", tmp_path / "results.jsonl"
    src.write_text("".join(json.dumps(l) + "\n" for l in lines))
    p = subprocess.run([*launcher, BINARY, "run-batch", "-i", str(src), "-o", str(out), "--model", str(model), *extra],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(l)["response"]["body"]["choices"][0] for l in out.read_text().splitlines()], p.stderr


@pytest.mark.parametrize("tp", [1, 2])
def test_data_parallel_replicas_on_two_hosts_equal_one_process(tmp_path, hosts, synthetic, tp):
    # Replica 0 (with the server's rank) on host a, replica 1 on b: replica 1's requests and
    # outputs cross the link; with tp 2 each replica's all-reduces stay on its host.
    model = synthetic["kv4"]
    lines = [{"custom_id": str(i), "method": "POST", "url": "/v1/completions",
              "body": {"model": str(model), "prompt": p, "max_tokens": 16, "logprobs": 5, "temperature": 0, "ignore_eos": True}}
             for i, p in enumerate(["Hello", "The capital of France is", "def fib(n):" * 8, "1, 2, 3,", "Once upon a time", "Zürich"])]
    base, _ = run_batch(tmp_path, model, lines, *EXACT, "--max-model-len", "512")
    before = hosts["link_bytes"]()
    across, log = run_batch(tmp_path, model, lines, *EXACT, "--max-model-len", "512", "--data-parallel-size", "2",
                            "--tensor-parallel-size", str(tp), launcher=mpirun(hosts, 2 * tp))
    assert f"Data parallel: 2 engine replicas of {tp} rank" in log, log
    served = re.search(r"data-parallel replica 1: (\d+) requests, (\d+) tokens", log)
    assert served and int(served[1]) > 0 and int(served[2]) == 16 * int(served[1]), log
    for a, b in zip(base, across):
        assert a["text"] == b["text"] and a["logprobs"]["tokens"] == b["logprobs"]["tokens"]
        for x, y in zip(a["logprobs"]["top_logprobs"], b["logprobs"]["top_logprobs"]):
            assert x.keys() == y.keys() and max(abs(x[k] - y[k]) for k in x) <= 1e-4
    assert hosts["link_bytes"]() - before > 20_000
