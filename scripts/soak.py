#!/usr/bin/env python3
"""Soak test: many mixed requests against a real `vllm serve`, watching for leaks.

Starts the server (small KV pool so preemption happens, two LoRA adapters), then sends
--requests requests from --concurrency threads: completions and chat, streamed and not, n > 1
and best_of, LoRA on and off, streams cut at random points, requests abandoned by a client
timeout, tokenize/detokenize, and bad requests (which must get a 4xx). Every --sample-every
requests it records the server's RSS (anonymous and file-backed), open file descriptors, threads and KV blocks in use.

At the end it checks: no unexpected error, KV usage 0 once idle, fds and threads back to their
warm-up level, and the anonymous-RSS slope after warm-up (least squares over the samples after
--warmup requests) at most --max-slope-kb KB per request. Exit status 1 if a check fails.

  python3 scripts/soak.py --requests 2000            # CI size
  python3 scripts/soak.py --requests 100000 --json-out soak.json
"""
import argparse
import importlib.util
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def start_server(binary, adapters, kv):
    """The tests' `Server` (tests/server/conftest.py) with the soak's flags; later flags win."""
    os.environ["VLLM_BINARY"] = binary
    spec = importlib.util.spec_from_file_location("server_helpers", ROOT / "tests/server/conftest.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers.Server("--max-model-len", "512", "--kv-cache-memory", kv, "--disable-log-requests", "--max-num-seqs", "16",
                          "--enable-lora", "--max-lora-rank", "8", "--max-loras", "2",
                          "--lora-modules", *[f"{n}={p}" for n, p in adapters])


def proc_status(pid):
    """Anonymous and file-backed RSS (KB), open fds, threads. Only anonymous memory can leak:
    file-backed pages are the mmap'd model, paged in as new tokens' embedding rows are read
    (bounded by the file's size, and the kernel may drop them at any time)."""
    status = Path(f"/proc/{pid}/status").read_text()
    anon = int(re.search(r"RssAnon:\s+(\d+) kB", status).group(1))
    file = int(re.search(r"RssFile:\s+(\d+) kB", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return anon, file, fds, threads


def metric(url, name):
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


WORDS = "the a river mountain quick slow sings under over bright data engine token cache model".split()


def one_request(url, rng, models, max_new, max_words):
    """Sends one random request; returns 'ok', 'expected-4xx', 'cut' or an error description."""
    kind = rng.random()
    model = rng.choice(models)
    prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, max_words)))
    max_tokens = rng.randint(1, max_new)
    try:
        if kind < 0.08:
            r = requests.post(url + "/tokenize", json={"prompt": prompt}, timeout=60)
            return "ok" if r.status_code == 200 else f"tokenize {r.status_code}"
        if kind < 0.12:
            bad = rng.choice([{"prompt": prompt, "max_tokens": -1}, {"prompt": [10**9]}, {"prompt": prompt, "n": 10**6},
                              {"messages": "nope"}, {"prompt": prompt, "stop": ["x"] * 1000}])
            path = "/v1/chat/completions" if "messages" in bad else "/v1/completions"
            r = requests.post(url + path, json={"model": model, **bad}, timeout=60)
            return "expected-4xx" if 400 <= r.status_code < 500 else f"bad request got {r.status_code}"
        chat = kind < 0.55
        body = {"model": model, "max_tokens": max_tokens, "temperature": rng.choice([0, 0.8]), "seed": rng.randint(0, 99)}
        if chat:
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        r2 = rng.random()
        if r2 < 0.15:
            body["n"] = 2
        elif r2 < 0.2 and not chat:
            body.update(n=1, best_of=2, temperature=0.8)  # best_of at temperature 0 is beam search (no LoRA)
        stream = rng.random() < 0.5 and "best_of" not in body
        path = "/v1/chat/completions" if chat else "/v1/completions"
        if stream:
            body["stream"] = True
            cut_after = rng.randint(1, 6) if rng.random() < 0.3 else None
            with requests.post(url + path, json=body, stream=True, timeout=120) as r:
                if r.status_code != 200:
                    return f"stream {r.status_code} {r.text[:200]}"
                for i, line in enumerate(r.iter_lines()):
                    if cut_after is not None and i >= cut_after:
                        return "cut"  # leaving the block closes the connection mid-stream
            return "ok"
        if rng.random() < 0.05:
            try:  # abandoned by the client before the answer
                requests.post(url + path, json={**body, "max_tokens": 200, "ignore_eos": True}, timeout=0.05)
            except requests.exceptions.Timeout:
                return "cut"
            return "ok"
        r = requests.post(url + path, json=body, timeout=120)
        return "ok" if r.status_code == 200 else f"{path} {r.status_code} {r.text[:200]}"
    except requests.exceptions.RequestException as e:
        return f"exception {type(e).__name__}: {e}"


def slope(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=12)
    ap.add_argument("--sample-every", type=int, default=0, help="default: requests / 20")
    ap.add_argument("--warmup", type=int, default=0, help="requests before the slope is measured (default: a quarter)")
    ap.add_argument("--max-slope-kb", type=float, default=0.1)
    ap.add_argument("--kv-cache-memory", default="24MiB")
    ap.add_argument("--binary", default=os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=24, help="each request's max_tokens is drawn from 1..this")
    ap.add_argument("--max-prompt-words", type=int, default=60, help="each prompt's length in words is drawn from 1..this")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    every = a.sample_every or max(50, a.requests // 20)
    warmup = a.warmup or a.requests // 4

    sys.path.insert(0, str(ROOT / "tests/lora"))
    import make_adapters
    tmp = tempfile.mkdtemp(prefix="soak-")
    made = list(make_adapters.make_plain(tmp, 2, 4).items())
    server = start_server(a.binary, made, a.kv_cache_memory)
    proc, url = server.proc, server.url
    # The adapters hold KV blocks of their own: idle usage is this, not 0.
    kv_start = metric(url, "vllm:kv_cache_usage_perc")
    models = ["HuggingFaceTB/SmolLM2-135M-Instruct"] + [n for n, _ in made]
    outcomes, errors, samples = {}, [], []
    lock = threading.Lock()
    done = 0
    start = time.time()

    def work(i):
        nonlocal done
        result = one_request(url, random.Random(a.seed * 1_000_003 + i), models, a.max_tokens, a.max_prompt_words)
        with lock:
            key = result if result in ("ok", "expected-4xx", "cut") else "error"
            outcomes[key] = outcomes.get(key, 0) + 1
            if key == "error" and len(errors) < 20:
                errors.append(result)
            done += 1
            if done % every == 0:
                anon, file, fds, threads = proc_status(proc.pid)
                samples.append({"requests": done, "rss_anon_kb": anon, "rss_file_kb": file, "fds": fds, "threads": threads,
                                "kv_usage": metric(url, "vllm:kv_cache_usage_perc"), "seconds": round(time.time() - start, 1)})
                s = samples[-1]
                print(f"{done:>7} requests  RSS anon {anon / 1024:7.1f} MiB  file {file / 1024:6.1f} MiB  fds {fds:4}  threads {threads:3}  "
                      f"KV {s['kv_usage']:.3f}  {s['seconds']:7.1f} s", flush=True)

    with ThreadPoolExecutor(a.concurrency) as pool:
        list(pool.map(work, range(a.requests)))

    # Idle: cut streams and abandoned requests must have freed everything.
    deadline = time.time() + 60
    while time.time() < deadline and (metric(url, "vllm:kv_cache_usage_perc") > kv_start or metric(url, "vllm:num_requests_running") > 0):
        time.sleep(0.5)
    time.sleep(1)
    anon, file, fds, threads = proc_status(proc.pid)
    kv_end = metric(url, "vllm:kv_cache_usage_perc")
    preemptions = metric(url, "vllm:num_preemptions_total")
    code = server.stop()

    after = [(s["requests"], s["rss_anon_kb"]) for s in samples if s["requests"] > warmup]
    rss_slope = slope(after) if len(after) >= 2 else 0.0
    warm = [s for s in samples if s["requests"] > warmup]
    base_fds = min(s["fds"] for s in warm) if warm else fds
    base_threads = min(s["threads"] for s in warm) if warm else threads
    result = {
        "requests": a.requests, "outcomes": outcomes, "errors": errors, "samples": samples,
        "rss_anon_slope_kb_per_request": rss_slope, "idle": {"rss_anon_kb": anon, "rss_file_kb": file, "fds": fds, "threads": threads, "kv_usage": kv_end},
        "preemptions": preemptions, "exit_code": code, "seconds": round(time.time() - start, 1),
    }
    checks = {
        "no unexpected errors": outcomes.get("error", 0) == 0,
        f"KV back to its start ({kv_end:.4f} vs {kv_start:.4f}: the adapters' blocks) when idle": abs(kv_end - kv_start) < 1e-9,
        f"anonymous RSS slope {rss_slope:.4f} KB/request <= {a.max_slope_kb}": rss_slope <= a.max_slope_kb,
        f"fds flat ({fds} idle vs {base_fds} after warm-up)": fds <= base_fds + 2,
        f"threads flat ({threads} idle vs {base_threads} after warm-up)": threads <= base_threads + 2,
        "preemption happened": preemptions > 0,
        "clean exit": code == 0,
    }
    result["checks"] = checks
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    for name, ok in checks.items():
        print(("PASS " if ok else "FAIL ") + name)
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
