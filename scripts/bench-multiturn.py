#!/usr/bin/env python3
"""Multi-turn chat benchmark for the KV offloading tier: the same conversations against
`vllm serve` with no tier and with each tier given by --tiers, in one run.

Each of --conversations conversations starts from one of --system-prompts shared system prompts
(--system-tokens long, e.g. 1–2k tokens) and runs --turns turns: a short user message, then the
model's reply (greedy, --output-len tokens, ignore_eos), which joins the history for the next
turn. Every conversation is open from the start and at most --concurrency turns run at once, so
the conversations interleave as a chat service's users do. The KV cache is sized with
--num-gpu-blocks-override so that the conversations' working set (every system prompt plus every
history) is about --pressure times the pool.

Reported per configuration: prefill tokens computed (`vllm:iteration_tokens_total` minus decode
steps), prefix-cache and tier hits (from /metrics), TTFT p50/p99 of the turns (streamed
/v1/chat/completions), output tokens/s over the run, and the wall time.

Tiers: none, native (host memory), disk (a fresh --kv-offloading-path), and disk-restart (a new
server on the directory the disk run left, replaying the same conversations: what a restarted
server gains from the prefix cache it had).
"""
import argparse, asyncio, importlib.util, json, os, random, re, sys, tempfile, time
import urllib.request
from pathlib import Path

spec = importlib.util.spec_from_file_location("bench_serve", Path(__file__).with_name("bench-serve.py"))
bench_serve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_serve)

WORDS = bench_serve.WORDS


def metrics(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-z_:]+)(\{[^}]*\})? ([0-9.eE+-]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def text_of(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))


async def conversation(client, model, system, questions, output_len, ttfts, gate):
    messages = [{"role": "system", "content": system}]
    tokens = 0
    for q in questions:
        messages.append({"role": "user", "content": q})
        await gate.acquire()
        t0 = time.perf_counter()
        stream = await client.chat.completions.create(
            model=model, messages=messages, max_tokens=output_len, temperature=0.0, stream=True,
            stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
        first, reply = None, []
        async for chunk in stream:
            if chunk.usage is not None:
                tokens += chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = time.perf_counter()
                reply.append(chunk.choices[0].delta.content)
        ttfts.append((first or time.perf_counter()) - t0)
        gate.release()
        messages.append({"role": "assistant", "content": "".join(reply)})
    return tokens


async def run_config(url, model, a):
    from openai import AsyncOpenAI
    rng = random.Random(a.seed)
    # ~0.75 words per token for these words.
    systems = [f"System prompt {i}. " + text_of(rng, int(a.system_tokens * 0.75)) for i in range(a.system_prompts)]
    convs = [(systems[i % len(systems)], [f"Turn {t} of chat {i}: " + text_of(rng, a.user_words) for t in range(a.turns)])
             for i in range(a.conversations)]
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=3600)
    gate = asyncio.Semaphore(a.concurrency)
    ttfts = []

    before = metrics(url)
    t0 = time.perf_counter()
    tokens = sum(await asyncio.gather(*(conversation(client, model, c[0], c[1], a.output_len, ttfts, gate) for c in convs)))
    wall = time.perf_counter() - t0
    await client.close()
    after = metrics(url)
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    requests = a.conversations * a.turns
    computed = d.get("vllm:iteration_tokens_total_sum", 0.0)
    decode_steps = d.get("vllm:generation_tokens_total", 0.0) - requests
    ttfts.sort()
    return {"prefill_tokens_computed": computed - decode_steps,
            "prompt_tokens": d.get("vllm:prompt_tokens_total", 0.0),
            "prefix_cache_hits": d.get("vllm:prefix_cache_hits_total", 0.0),
            "tier_hits": d.get("vllm:external_prefix_cache_hits_total", 0.0),
            "blocks_loaded": d.get("vllm:kv_offload_blocks_loaded_total", 0.0),
            "preemptions": d.get("vllm:num_preemptions_total", 0.0),
            "ttft_p50_ms": 1e3 * bench_serve.pct(ttfts, 50), "ttft_p99_ms": 1e3 * bench_serve.pct(ttfts, 99),
            "output_tok_s": tokens / wall, "wall_s": wall, "requests": requests}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--binary", default=os.environ.get("VLLM_BINARY", ".build/release/vllm"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--conversations", type=int, default=64)
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--system-prompts", type=int, default=4)
    ap.add_argument("--system-tokens", type=int, default=1500)
    ap.add_argument("--user-words", type=int, default=30)
    ap.add_argument("--output-len", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--pressure", type=float, default=4.0, help="working set / KV pool")
    ap.add_argument("--tiers", nargs="+", default=["none", "native"], help="none, native, disk, disk-restart")
    ap.add_argument("--tier-gib", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-out")
    a = ap.parse_args()

    # Working set in tokens: the system prompts, and each conversation's final history.
    history = a.turns * (a.user_words * 1.4 + 12 + a.output_len + 8)
    working = a.system_prompts * a.system_tokens + a.conversations * history
    blocks = max(int(working / a.pressure / 16), int((a.system_tokens + history) / 16) + 4)
    print(f"working set ≈ {working:.0f} tokens; KV pool {blocks} blocks ({blocks * 16} tokens)", file=sys.stderr)

    results = {}
    disk_dir = tempfile.mkdtemp(prefix="bench-multiturn-kv-")
    for tier in a.tiers:
        extra = [] if tier == "none" else ["--kv-offloading-backend", tier.split("-")[0], "--kv-offloading-size", str(a.tier_gib)]
        if tier.startswith("disk"):
            extra += ["--kv-offloading-path", disk_dir]
        port = bench_serve.free_port()
        server = bench_serve.ServerProcess(tier, [a.binary, "serve", a.model, "--host", "127.0.0.1", "--port", str(port),
                                                  "--threads", str(a.threads), "--disable-log-requests",
                                                  "--num-gpu-blocks-override", str(blocks),
                                                  "--max-model-len", str(blocks * 16), *extra], port)
        try:
            results[tier] = asyncio.run(run_config(server.url, a.model, a))
        finally:
            server.stop()
        r = results[tier]
        print(f"  {tier}: prefill computed {r['prefill_tokens_computed']:.0f}, TTFT p50 {r['ttft_p50_ms']:.0f} ms", file=sys.stderr)

    print(f"{a.conversations} conversations × {a.turns} turns, {a.system_prompts} system prompts of ~{a.system_tokens} tokens, "
          f"{a.output_len} output tokens, concurrency {a.concurrency}, KV pool {blocks} blocks, threads {a.threads}")
    # (Hit counters count every lookup, a request retried while memory is short included, as
    # vLLM's do; they are in the JSON, not in the table.)
    print(f"{'tier':12} {'prompt tokens':>13} {'prefill computed':>16} {'blocks loaded':>13} {'TTFT p50':>9} {'TTFT p99':>9} {'out tok/s':>9} {'wall s':>7}")
    for tier, r in results.items():
        print(f"{tier:12} {r['prompt_tokens']:13.0f} {r['prefill_tokens_computed']:16.0f} {r['blocks_loaded']:13.0f} "
              f"{r['ttft_p50_ms']:9.0f} {r['ttft_p99_ms']:9.0f} {r['output_tok_s']:9.1f} {r['wall_s']:7.1f}")
    if "none" in results:
        base = results["none"]
        for tier, r in results.items():
            if tier != "none":
                print(f"{tier} vs none: {base['prefill_tokens_computed'] / max(1, r['prefill_tokens_computed']):.2f}× fewer prefill tokens, "
                      f"TTFT p50 {base['ttft_p50_ms'] / r['ttft_p50_ms']:.2f}× lower")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"args": vars(a), "kv_blocks": blocks, "results": results}, indent=1))


if __name__ == "__main__":
    main()
