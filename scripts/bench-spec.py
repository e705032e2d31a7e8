#!/usr/bin/env python3
"""Speculative decoding benchmark: `vllm serve` with and without `--speculative-config`, same
model, same prompts, in the same run.

Two workloads of chat prompts written for this benchmark: input-heavy (rewrite, correct or
annotate a given text or code: the answer copies much of the prompt, which n-gram prompt
lookup proposes) and plain chat (open questions: little to copy). For each workload it sends
the prompts one at a time (batch 1, greedy, streamed) and reports decode tokens/s (tokens after
the first over the time after the first), the acceptance rate and mean acceptance length (from
the server's vllm:spec_decode_* counters) and whether the texts equal the plain server's. Then
throughput (all output tokens over wall time) with 8 and 32 concurrent clients on both
workloads mixed. `--reference` adds a third batch-1 workload: the reference prompts of the
default model (token ids from ../shared/reference, sent raw to /v1/completions).
"""
import argparse, asyncio, json, os, re, sys, time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

bench_serve = import_module("bench-serve")

PARAGRAPH = ("The comittee met on tuesday to discus the new budjet for the libary. Several members "
             "argued that the reading room needs new chairs, better lighting and a quieter heating "
             "system, while others wanted to spend the money on books and on longer opening hours "
             "during the winter months.")
CODE = '''def moving_average(values, window):
    result = []
    for i in range(len(values) - window + 1):
        chunk = values[i:i + window]
        result.append(sum(chunk) / window)
    return result'''
CSV = "name,city,age\nAnna,Berlin,34\nBen,Paris,29\nCarla,Rome,41\nDavid,Madrid,38\nEva,Vienna,25"

INPUT_HEAVY = [
    f"Correct the spelling mistakes in this paragraph and write it out again in full:\n\n{PARAGRAPH}",
    f"Add a docstring to this Python function and write out the whole function:\n\n{CODE}",
    f"Rewrite this table as a Markdown table with the same rows:\n\n{CSV}",
    f"Copy this paragraph exactly, then add one sentence at the end:\n\n{PARAGRAPH}",
    f"Rename the function below to rolling_mean and write out the whole code:\n\n{CODE}",
    f"Write this list again, one line per person, as 'name (age) lives in city':\n\n{CSV}",
]
PLAIN_CHAT = [
    "What are three good habits for learning a new language?",
    "Explain in a few sentences why the sky is blue.",
    "Give me a short recipe for a vegetable soup.",
    "What should I pack for a weekend hiking trip?",
    "Describe how a bicycle gear system works.",
    "Write a short poem about autumn in a city.",
]


def spec_counters(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for name in ("num_drafts", "num_draft_tokens", "num_accepted_tokens"):
        m = re.search(rf"^vllm:spec_decode_{name}_total{{[^}}]*}} (\S+)$", text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def reference_prompts(path):
    with open(path) as f:
        return [json.loads(line)["prompt_token_ids"] for line in f if line.strip()]


async def one(client, model, prompt, max_tokens):
    """A chat message (str) or raw token ids (list, through /v1/completions)."""
    start = time.perf_counter()
    first, text, tokens = None, "", 0
    common = dict(model=model, max_tokens=max_tokens, temperature=0, stream=True, stream_options={"include_usage": True})
    if isinstance(prompt, list):
        stream = await client.completions.create(prompt=prompt, **common)
    else:
        stream = await client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **common)
    async for chunk in stream:
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
        for c in chunk.choices:
            piece = c.text if isinstance(prompt, list) else c.delta.content
            if piece:
                if first is None:
                    first = time.perf_counter()
                text += piece
    end = time.perf_counter()
    return text, tokens, (first or end) - start, end - (first or end)


async def sequential(url, model, prompts, max_tokens):
    from openai import AsyncOpenAI
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600)
    results = [await one(client, model, p, max_tokens) for p in prompts]
    decode_tokens = sum(max(0, r[1] - 1) for r in results)
    decode_s = sum(r[3] for r in results)
    return [r[0] for r in results], decode_tokens / decode_s


async def concurrent(url, model, prompts, max_tokens, concurrency):
    from openai import AsyncOpenAI
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600)
    sem = asyncio.Semaphore(concurrency)

    async def run(p):
        async with sem:
            return await one(client, model, p, max_tokens)
    start = time.perf_counter()
    results = await asyncio.gather(*[run(p) for p in prompts])
    return sum(r[1] for r in results) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--binary", default=os.environ.get("VLLM_BINARY", ".build/release/vllm"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--speculative-config", default='{"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_max": 4, "prompt_lookup_min": 2}')
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[8, 32])
    ap.add_argument("--vllm-args", default="", help="extra arguments for both servers")
    ap.add_argument("--reference", nargs="?", const="../shared/reference/smollm2-135m-instruct-q4_1/generation.jsonl",
                    help="also run the reference prompts (a generation.jsonl with prompt_token_ids)")
    args = ap.parse_args()
    workloads = [("input-heavy", INPUT_HEAVY), ("plain chat", PLAIN_CHAT)]
    if args.reference:
        workloads.append(("reference", reference_prompts(args.reference)))

    variants = [("plain", []), ("spec", ["--speculative-config", args.speculative_config])]
    rows, texts = {}, {}
    for name, extra in variants:
        port = bench_serve.free_port()
        server = bench_serve.ServerProcess(name, [args.binary, "serve", args.model, "--host", "127.0.0.1", "--port", str(port),
                                                  "--threads", str(args.threads), "--disable-log-requests",
                                                  *args.vllm_args.split(), *extra], port)
        try:
            model = json.load(urllib.request.urlopen(server.url + "/v1/models"))["data"][0]["id"]
            for workload, prompts in workloads:
                before = spec_counters(server.url)
                out, tps = asyncio.run(sequential(server.url, model, prompts, args.max_tokens))
                after = spec_counters(server.url)
                d = {k: after[k] - before[k] for k in after}
                texts[(name, workload)] = out
                rows[(name, workload)] = (tps, d)
            for c in args.concurrency:
                mixed = (INPUT_HEAVY + PLAIN_CHAT) * max(1, (2 * c) // 12)
                rows[(name, f"c={c}")] = (asyncio.run(concurrent(server.url, model, mixed, args.max_tokens, c)), None)
        finally:
            server.stop()

    print(f"model {os.path.basename(args.model)}, threads {args.threads}, speculative config {args.speculative_config}")
    print(f"{'workload':<14}{'plain tok/s':>12}{'spec tok/s':>12}{'speedup':>9}{'accept rate':>13}{'mean acc len':>14}  same text")
    for workload, _ in workloads:
        (p, _), (s, d) = rows[("plain", workload)], rows[("spec", workload)]
        rate = d["num_accepted_tokens"] / d["num_draft_tokens"] if d["num_draft_tokens"] else 0
        length = 1 + d["num_accepted_tokens"] / d["num_drafts"] if d["num_drafts"] else 0
        same = texts[("plain", workload)] == texts[("spec", workload)]
        print(f"{workload + ' (b=1)':<14}{p:>12.1f}{s:>12.1f}{s / p:>8.2f}×{rate:>13.2f}{length:>14.2f}  {same}")
    for c in args.concurrency:
        (p, _), (s, _) = rows[("plain", f"c={c}")], rows[("spec", f"c={c}")]
        print(f"{f'mixed c={c}':<14}{p:>12.1f}{s:>12.1f}{s / p:>8.2f}×")


if __name__ == "__main__":
    main()
