#!/usr/bin/env python3
"""Data parallelism through the server: one engine (all cores) against two replicas in one process
and two replicas as MPI processes (one core's threads each), side by side in alternating rounds
(this machine's speed drifts between minutes). Each round starts each layout's `vllm serve`, sends
--num-prompts completions at once (each exactly --output-len tokens, `ignore_eos`) and reports
output tokens/s over the wall time, then stops the server; the process layout also reports what
replica 1 sent rank 0 per token (from its exit log).
  scripts/bench-data-parallel.py MODEL.gguf [--rounds 3] [--num-prompts 32] [--output-len 128]
"""
import argparse, concurrent.futures, json, os, re, signal, subprocess, sys, time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
bench_serve = __import__("bench-serve")
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))


def layouts(model):
    serve = [BINARY, "serve", model, "--host", "127.0.0.1", "--max-model-len", "1024", "--disable-log-requests"]
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    return {
        "one engine": serve,
        "dp 2 threads": serve + ["-dp", "2"],
        "dp 2 processes": ["mpirun", *root, "-n", "2", "--oversubscribe", "--bind-to", "none", *serve, "-dp", "2"],
    }


def complete(url, prompt, output_len):
    body = json.dumps({"prompt": prompt, "max_tokens": output_len, "ignore_eos": True, "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)["usage"]["completion_tokens"]


def rank0(proc):
    """The server's process: mpirun's child with rank 0, or the process itself."""
    kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    for pid in kids:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if b"OMPI_COMM_WORLD_RANK=0" in env:
            return int(pid)
    return proc.pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--num-prompts", type=int, default=32)
    ap.add_argument("--output-len", type=int, default=128)
    a = ap.parse_args()
    prompts = bench_serve.make_prompts(a.num_prompts, 24, seed=1)
    for round_ in range(1, a.rounds + 1):
        for name, argv in layouts(a.model).items():
            port = bench_serve.free_port()
            server = bench_serve.ServerProcess(name, argv + ["--port", str(port)], port)
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(prompts)) as pool:
                tokens = sum(pool.map(lambda p: complete(server.url, p, a.output_len), prompts))
            elapsed = time.perf_counter() - start
            os.kill(rank0(server.proc), signal.SIGTERM)
            server.proc.wait(120)
            sent = re.search(r"data-parallel replica 1: .* (\d+) per token", "".join(server.log))
            print(f"round={round_} layout={name} requests={len(prompts)} output_tokens/s={tokens / elapsed:.1f}"
                  f" replica1_bytes_per_token={sent[1] if sent else '-'}", flush=True)


if __name__ == "__main__":
    main()
