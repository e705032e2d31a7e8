#!/usr/bin/env python3
"""xgrammar's side of `vllm bench structured-output`: the same schemas, the same vocabulary (read
from the same GGUF), the same walk — `--batch-size` matchers per schema advanced in lockstep for
`--steps` steps, each taking a random allowed token and starting over when complete — timing
every grammar compile and every `fill_next_token_bitmask`. Prints the same summary lines and, with
--json, one JSON line with the same keys.

  python3 -m pip install --no-deps --target /tmp/xg125 xgrammar==0.1.25   # vLLM 0.11's pin; imports torch
  PYTHONPATH=/tmp/xg125 python3 scripts/bench-xgrammar.py …
  python3 scripts/bench-xgrammar.py --model M --num-schemas 40 --steps 64 --batch-size 32

Compiles run with xgrammar's cache off and `--compile-threads` threads (vLLM's backend asks
for 8; this machine has 2 cores, so the default is the core count).
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import random
import sys
import time

import numpy as np
import xgrammar as xgr

HERE = os.path.dirname(os.path.abspath(__file__))


def fixtures_module():
    spec = importlib.util.spec_from_file_location("make_grammar_fixtures", os.path.join(HERE, "make-grammar-fixtures.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p))] if s else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--schemas", default=os.path.join(HERE, "..", "tests", "server", "fixtures", "schemas.json"))
    ap.add_argument("--num-schemas", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--compile-threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="a line per schema on stderr")
    a = ap.parse_args()

    t0 = time.perf_counter()
    vocab, eos = fixtures_module().load_vocab(a.model)
    info = xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=[eos])
    info_ms = (time.perf_counter() - t0) * 1000
    compiler = xgr.GrammarCompiler(info, max_threads=a.compile_threads, cache_enabled=False)
    entries = json.load(open(a.schemas))[: a.num_schemas]
    rng = random.Random(a.seed)
    compile_ms, fill_us, step_ms = [], [], []
    bitmask = xgr.allocate_token_bitmask(1, len(vocab))
    for entry in entries:
        schema = entry["schema"] if isinstance(entry, dict) and "schema" in entry else entry
        c0 = time.perf_counter()
        compiled = compiler.compile_json_schema(json.dumps(schema), any_whitespace=True)
        compile_ms.append((time.perf_counter() - c0) * 1000)
        matchers = [xgr.GrammarMatcher(compiled) for _ in range(a.batch_size)]
        for _ in range(a.steps):
            s0 = time.perf_counter()
            for m in matchers:
                if m.is_terminated():
                    m.reset()
                f0 = time.perf_counter()
                m.fill_next_token_bitmask(bitmask, 0)
                fill_us.append((time.perf_counter() - f0) * 1e6)
                bits = np.unpackbits(bitmask.numpy().view(np.uint8), bitorder="little")[: len(vocab)]
                allowed = np.flatnonzero(bits)
                if len(allowed) == 0:
                    m.reset()
                    continue
                m.accept_token(int(allowed[rng.randrange(len(allowed))]))
            step_ms.append((time.perf_counter() - s0) * 1000)
        if a.verbose:
            print(f"  {entry.get('name', '?') if isinstance(entry, dict) else '?'}: compile {compile_ms[-1]:.1f} ms, "
                  f"fills so far {len(fill_us)}, last step {step_ms[-1]:.1f} ms", file=sys.stderr, flush=True)
    print(f"xgrammar {importlib.metadata.version('xgrammar')}, model: {a.model}, vocabulary {len(vocab)} (tokenizer info built in {info_ms:.1f} ms)")
    print(f"{len(compile_ms)} schemas from {a.schemas}; {a.batch_size} matchers per schema, {a.steps} steps, random allowed tokens")
    print(f"compile: p50 {pct(compile_ms, 0.5):.2f} ms, max {max(compile_ms):.2f} ms ({a.compile_threads} threads)")
    print(f"mask fill: p50 {pct(fill_us, 0.5):.1f} µs, p99 {pct(fill_us, 0.99):.1f} µs, mean {sum(fill_us) / len(fill_us):.1f} µs")
    print(f"step of {a.batch_size} masks (timed fills and the walk's own mask reading): p50 {pct(step_ms, 0.5):.2f} ms, "
          f"p99 {pct(step_ms, 0.99):.2f} ms")
    if a.json:
        print(json.dumps({"vocab_size": len(vocab), "schemas": len(compile_ms), "batch_size": a.batch_size, "steps": a.steps,
                          "compile_ms_p50": pct(compile_ms, 0.5), "compile_ms_max": max(compile_ms),
                          "fill_us_p50": pct(fill_us, 0.5), "fill_us_p99": pct(fill_us, 0.99),
                          "fill_us_mean": sum(fill_us) / len(fill_us),
                          "step_ms_p50": pct(step_ms, 0.5), "step_ms_p99": pct(step_ms, 0.99)}, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
