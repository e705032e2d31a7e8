#!/usr/bin/env python3
"""Serving benchmark: swift-vllm's `vllm serve` against llama.cpp's `llama-server`, same GGUF,
same thread count, same prompts, in the same run.

For each concurrency level (default 1, 8, 32) it sends --num-prompts streaming /v1/completions
requests through the official `openai` client, at most `concurrency` at a time, to each server in
turn (swift-vllm, then llama.cpp, so the two see the machine in the same state), and reports
output tokens/s (all output tokens over the level's wall time), time to first token and
inter-token latency (gaps between streamed tokens) at p50 and p99. Every request asks for exactly
--output-len tokens (`ignore_eos`), so both servers do the same work. It also reports each
server's time from start to ready (/health 200) and its peak RSS (VmHWM before it is stopped),
and swift-vllm's KV pool size from its start log. scripts/bench-all.py imports run().

llama-server comes from scripts/build-llama-server.sh (llama.cpp as vendored in the
llama-cpp-python source distribution); it runs with --parallel = the largest concurrency and
continuous batching on.
"""
import argparse, asyncio, json, os, random, re, socket, subprocess, sys, threading, time
import urllib.request

WORDS = ("the a of to and in is that for it on with as was at by from this be are have an or not "
         "which one all their there been more when who will would about up out into them some time "
         "could than other only new these two may first any like now such people over after most "
         "river mountain engine quiet garden market letter winter silver window morning story").split()


def make_prompts(n, words, seed):
    """Distinct prompts (they differ from their first word, so no server can reuse a prefix)."""
    rng = random.Random(seed)
    return [f"Request {i}: " + " ".join(rng.choice(WORDS) for _ in range(words)) for i in range(n)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server process that is ready once `health` answers 200."""

    def __init__(self, name, argv, port, health="/health"):
        self.name, self.url = name, f"http://127.0.0.1:{port}"
        self.log = []
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=lambda: self.log.extend(self.proc.stdout), daemon=True).start()
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{name} exited at start:\n" + "".join(self.log[-30:]))
            try:
                with urllib.request.urlopen(self.url + health, timeout=2) as r:
                    if r.status == 200:
                        self.ready_s = time.perf_counter() - self.started
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.proc.kill()
        sys.exit(f"{name} never became ready:\n" + "".join(self.log[-30:]))

    def peak_rss_bytes(self):
        """VmHWM (peak resident set) of the running process, or None once it is gone."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return None

    def stop(self):
        self.peak_rss = self.peak_rss_bytes()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def one_request(client, model, prompt, output_len):
    """Streams one completion; returns (ttft, [gaps between tokens], output tokens)."""
    t0 = time.perf_counter()
    stream = await client.completions.create(
        model=model, prompt=prompt, max_tokens=output_len, temperature=0.0, stream=True,
        stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    stamps, usage = [], None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.completion_tokens
        if chunk.choices and chunk.choices[0].text:
            stamps.append(time.perf_counter())
    if not stamps:
        raise RuntimeError("no tokens streamed")
    tokens = usage if usage is not None else len(stamps)
    return stamps[0] - t0, [b - a for a, b in zip(stamps, stamps[1:])], tokens


async def run_level(url, model, prompts, concurrency, output_len):
    from openai import AsyncOpenAI
    # A fresh connection per request: llama-server (cpp-httplib) closes a keep-alive connection
    # after a few requests, and a request the client sends on it just then fails with
    # "Connection error."
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600,
                         default_headers={"Connection": "close"})
    gate = asyncio.Semaphore(concurrency)

    async def limited(p):
        async with gate:
            return await one_request(client, model, p, output_len)

    await one_request(client, model, "Warm up.", 8)
    t0 = time.perf_counter()
    results = await asyncio.gather(*(limited(p) for p in prompts))
    wall = time.perf_counter() - t0
    await client.close()
    ttft = sorted(r[0] for r in results)
    itl = sorted(g for r in results for g in r[1])
    tokens = sum(r[2] for r in results)
    return {"output_tok_s": tokens / wall, "ttft_p50_ms": 1e3 * pct(ttft, 50), "ttft_p99_ms": 1e3 * pct(ttft, 99),
            "itl_p50_ms": 1e3 * pct(itl, 50), "itl_p99_ms": 1e3 * pct(itl, 99), "requests": len(results),
            "output_tokens": tokens, "wall_s": wall}


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--binary", default=os.environ.get("VLLM_BINARY", ".build/release/vllm"))
    ap.add_argument("--llama-server", default=os.environ.get("LLAMA_SERVER", os.path.expanduser("~/.cache/swift-vllm/llama.cpp/build/bin/llama-server")))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--num-prompts", type=int, nargs="+", default=None,
                    help="requests per level (default: 8 at concurrency 1, else 2 × concurrency)")
    ap.add_argument("--prompt-words", type=int, default=100, help="words per prompt (~1.3 tokens each)")
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--skip-llamacpp", action="store_true")
    ap.add_argument("--vllm-args", default="", help="extra arguments for vllm serve")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                    help="another swift-vllm server with these extra arguments, measured in the same run "
                         "(e.g. async=--async-scheduling); repeatable")
    return ap


def run(a):
    """Runs every level against both servers; returns the rows, each server's start-to-ready time
    and peak RSS (VmHWM just before it is stopped), and swift-vllm's KV pool from its start log."""
    counts = a.num_prompts or [8 if c == 1 else 2 * c for c in a.concurrency]
    if len(counts) == 1:
        counts = counts * len(a.concurrency)

    servers = []
    try:
        port = free_port()
        servers.append(ServerProcess("swift-vllm", [a.binary, "serve", a.model, "--host", "127.0.0.1", "--port", str(port),
                                                    "--threads", str(a.threads), "--disable-log-requests", *a.vllm_args.split()], port))
        for v in a.variant:
            name, _, extra = v.partition("=")
            port = free_port()
            servers.append(ServerProcess(name, [a.binary, "serve", a.model, "--host", "127.0.0.1", "--port", str(port),
                                                "--threads", str(a.threads), "--disable-log-requests",
                                                *a.vllm_args.split(), *extra.split()], port))
        if not a.skip_llamacpp:
            port = free_port()
            slots = max(a.concurrency)
            per_slot = a.prompt_words * 2 + a.output_len + 64
            servers.append(ServerProcess("llama.cpp", [a.llama_server, "-m", a.model, "--host", "127.0.0.1", "--port", str(port),
                                                       "-t", str(a.threads), "-tb", str(a.threads), "-np", str(slots),
                                                       "-c", str(slots * per_slot), "--cont-batching", "--no-webui"], port))
        rows = []
        for c, n in zip(a.concurrency, counts):
            prompts = make_prompts(n, a.prompt_words, seed=c)
            for s in servers:
                try:
                    r = asyncio.run(run_level(s.url, "default" if s.name == "llama.cpp" else a.model, prompts, c, a.output_len))
                except Exception as e:
                    # The server's own last words say more than the client's error.
                    exit_code = s.proc.poll()
                    raise RuntimeError(f"{s.name} c={c}: {e} (server {'exited ' + str(exit_code) if exit_code is not None else 'running'}); "
                                       "its log ends:\n" + "".join(s.log[-15:])) from e
                rows.append({"server": s.name, "concurrency": c, **r})
                print(f"  {s.name} c={c}: {r['output_tok_s']:.1f} tok/s", file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
    kv = [m for line in servers[0].log for m in re.findall(r"KV cache: .*\(\d+ tokens, (\d+) MiB\)", line)]
    return {"rows": rows, "ready_s": {s.name: s.ready_s for s in servers},
            "peak_rss_bytes": {s.name: s.peak_rss for s in servers},
            "kv_pool_bytes": int(kv[0]) << 20 if kv else None,
            "servers": [s.name for s in servers]}


def main():
    a = build_parser().parse_args()
    res = run(a)
    rows = res["rows"]
    print(f"threads={a.threads} prompt≈{a.prompt_words} words, output={a.output_len} tokens (ignore_eos), streaming /v1/completions")
    print(f"ready after start: " + ", ".join(f"{name} {s:.2f} s" for name, s in res["ready_s"].items()))
    print(f"peak RSS: " + ", ".join(f"{name} {b / 2**20:.0f} MiB" for name, b in res["peak_rss_bytes"].items() if b)
          + (f" (swift-vllm KV pool {res['kv_pool_bytes'] >> 20} MiB)" if res["kv_pool_bytes"] else ""))
    print(f"{'server':11} {'conc':>4} {'reqs':>4} {'out tok/s':>9} {'TTFT p50':>9} {'TTFT p99':>9} {'ITL p50':>8} {'ITL p99':>8}")
    for r in rows:
        print(f"{r['server']:11} {r['concurrency']:4d} {r['requests']:4d} {r['output_tok_s']:9.1f} {r['ttft_p50_ms']:7.0f}ms"
              f" {r['ttft_p99_ms']:7.0f}ms {r['itl_p50_ms']:6.1f}ms {r['itl_p99_ms']:6.1f}ms")
    # Ratios: swift-vllm ÷ llama.cpp, and each variant ÷ plain swift-vllm.
    for name in res["servers"][1:]:
        for c in a.concurrency:
            row = {n: next(r for r in rows if r["server"] == n and r["concurrency"] == c) for n in ("swift-vllm", name)}
            ours, theirs = (row["swift-vllm"], row[name]) if name == "llama.cpp" else (row[name], row["swift-vllm"])
            label = "ratio" if name == "llama.cpp" else f"{name} vs swift-vllm"
            print(f"{label} c={c}: output tok/s {ours['output_tok_s'] / theirs['output_tok_s']:.2f}×, "
                  f"ITL p50 {ours['itl_p50_ms'] / theirs['itl_p50_ms']:.2f}×, ITL p99 {ours['itl_p99_ms'] / theirs['itl_p99_ms']:.2f}×, "
                  f"TTFT p50 {ours['ttft_p50_ms'] / theirs['ttft_p50_ms']:.2f}×")
    print(json.dumps({k: res[k] for k in ("rows", "ready_s", "peak_rss_bytes", "kv_pool_bytes")}))


if __name__ == "__main__":
    main()
